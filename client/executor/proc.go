package executor

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// descendants lists every living process below root, found by walking
// /proc's parent links. The executor is a child subreaper, so a task's
// daemonised grandchildren stay below it and are found here even when
// cgroups are disabled.
func descendants(root int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, ok := parentPid(pid); ok {
			children[ppid] = append(children[ppid], pid)
		}
	}
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// parentPid reads the parent of pid from /proc/pid/stat; zombies count as
// gone.
func parentPid(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name sits in parentheses and may hold spaces; the fields
	// after the last ')' are "state ppid ...".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 || f[0] == "Z" || f[0] == "X" {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// Alive reports whether pid is alive and is the executor of dir; the
// command line check guards against a recycled pid.
func Alive(pid int, dir Dir) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return false // gone, or a zombie
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	hasExec, hasDir := false, false
	for _, a := range args {
		hasExec = hasExec || a == "executor"
		hasDir = hasDir || a == string(dir)
	}
	if !hasExec || !hasDir {
		return false
	}
	if _, ok := parentPid(pid); !ok {
		return false
	}
	return syscall.Kill(pid, 0) == nil
}
