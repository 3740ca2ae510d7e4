package main

import (
	"fmt"
	"path/filepath"
)

// nai ships as two binaries built from this package: nai, the CLI (built
// with the nai_cli tag: the API client commands, the per-job executor and
// the simulator), and nai-agent, the same commands plus the agent. A
// process of the CLI binary starts in half the time of the whole (4 ms
// against 7 ms of CPU on the 2-core dev VM), which is most of the cost of
// a submission. The full binary alone, named nai, still does everything.
// A third, nai-executor (cmd/nai-executor), runs each job's executor.
const agentBinaryName = "nai-agent"

// findAgentBinary looks for nai-agent beside self, then in the PATH's
// directories.
func findAgentBinary(self, path string) (string, error) {
	dirs := []string{filepath.Dir(self)}
	dirs = append(dirs, filepath.SplitList(path)...)
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p := filepath.Join(d, agentBinaryName)
		if isExecutableFile(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("this is the CLI binary; the agent is %s, found neither beside %s nor on PATH: install it beside nai (make build puts both in bin/, the release archive and the .deb carry both)",
		agentBinaryName, self)
}

// executorBinaryName is the per-job binary (cmd/nai-executor): it links
// only client/executor, and starts in about half the CPU time of the CLI
// binary (figures in its doc.go); each job starts it once or twice (the
// executor, and on cgroup v2 the exec shim).
const executorBinaryName = "nai-executor"

// executorBinary is the binary a client agent starts as `BINARY executor`
// for each job (and the executor as `BINARY exec-shim`): nai-executor
// beside the agent, else the CLI binary nai beside it (it starts in half
// the time of the agent's), else the agent's own binary. All three run
// both commands, so an install without nai-executor (an older release
// archive, a copied full binary) still runs jobs, only slower to start.
func executorBinary(self string) string {
	dir := filepath.Dir(self)
	if p := filepath.Join(dir, executorBinaryName); isExecutableFile(p) {
		return p
	}
	if filepath.Base(self) == "nai" {
		return self
	}
	if p := filepath.Join(dir, "nai"); isExecutableFile(p) {
		return p
	}
	return self
}
