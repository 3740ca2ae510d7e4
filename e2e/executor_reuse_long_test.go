package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// Executors are reused for a node's batch jobs (client/execpool.go): 2500
// short jobs through one dev agent with two GPUs all complete, each run
// once; they share a few executors, none of which runs more than its
// share (1000 jobs, so at least three are needed); and once the queue is
// empty the idle executors are retired while the agent runs on, so no
// process of the agent's is left behind.
func TestExecutorReuseLong(t *testing.T) {
	if os.Getenv("NAI_LONG") != "1" {
		t.Skip("long test: set NAI_LONG=1 (make test-long)")
	}
	const n, workers = 2500, 8
	a := startAgent(t, t.TempDir(), 2)
	c := a.api()
	ppids := filepath.Join(t.TempDir(), "ppids")
	registerEach(t, c, n, workers, "reuse", structs.Task{Command: "/bin/sh", Args: []string{"-c", `echo $PPID >> "$1"`, "sh", ppids}})
	waitFor(t, 10*time.Minute, "every job to end", func() bool {
		left, err := queuedCount(a.addr)
		return err == nil && left == 0
	})
	if complete := completeCount(t, c); complete != n {
		t.Fatalf("%d of %d jobs complete", complete, n)
	}

	b, err := os.ReadFile(ppids)
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]int{}
	lines := strings.Fields(string(b))
	for _, p := range lines {
		runs[p]++
	}
	if len(lines) != n {
		t.Fatalf("%d tasks ran, want %d", len(lines), n)
	}
	most := 0
	for _, k := range runs {
		most = max(most, k)
	}
	t.Logf("%d jobs on %d executors, at most %d on one", n, len(runs), most)
	if len(runs) < 3 || len(runs) > n/10 || most > 1000 {
		t.Fatalf("%d jobs on %d executors, at most %d on one: want a few executors, none over 1000 jobs", n, len(runs), most)
	}

	agentPid := a.cmd.Process.Pid
	waitFor(t, time.Minute, "the idle executors to be retired", func() bool {
		return len(executorsOf(agentPid)) == 0
	})
}

// executorsOf lists the live nai-executor processes whose parent is pid.
func executorsOf(pid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split
		// after its closing parenthesis.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		open := strings.IndexByte(s, '(')
		if i < 0 || open < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 || s[open+1:i] != "nai-executor" || f[0] == "Z" {
			continue
		}
		if pp, _ := strconv.Atoi(f[1]); pp == pid {
			out = append(out, p)
		}
	}
	return out
}
