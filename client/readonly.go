package client

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// capSysAdmin is CAP_SYS_ADMIN's bit in the capability sets.
const capSysAdmin = 21

// mountNamespaces says whether this agent's executors can give tasks a
// mount namespace with their datasets and models read-only (package
// executor, readonly.go), which takes CAP_SYS_ADMIN; why not when they
// cannot. Without it the inputs are read-only by their permissions alone.
func mountNamespaces() (bool, string) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return false, fmt.Sprintf("cannot read the agent's capabilities: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		hex, ok := strings.CutPrefix(sc.Text(), "CapEff:")
		if !ok {
			continue
		}
		caps, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			return false, fmt.Sprintf("cannot read the agent's capabilities: CapEff %q", strings.TrimSpace(hex))
		}
		if caps&(1<<capSysAdmin) == 0 {
			return false, fmt.Sprintf("the agent (uid %d) lacks CAP_SYS_ADMIN", os.Geteuid())
		}
		return true, ""
	}
	return false, "cannot read the agent's capabilities: no CapEff in /proc/self/status"
}

// readOnlyDirs are the dirs the task is to see read-only: its datasets'
// and models'. A dir that holds the agent's data dir (a dataset at a
// path such as /) is left out: read-only, it would take the task's own
// work and output dirs with it.
func (c *Client) readOnlyDirs(datasets, models []artifactDir) []string {
	if !c.mountNS {
		return nil
	}
	var out []string
	for _, d := range append(append([]artifactDir(nil), datasets...), models...) {
		dir := filepath.Clean(d.Dir)
		if within(c.cfg.DataDir, dir) {
			c.logger.Warn("not mounting an input read-only: it holds the agent's data dir, and with it the task's work dir", "name", d.Name, "dir", dir)
			continue
		}
		if !slices.Contains(out, dir) {
			out = append(out, dir)
		}
	}
	return out
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}
