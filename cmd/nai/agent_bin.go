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
// a submission and of a job's start. The full binary alone, named nai,
// still does everything.
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

// executorBinary is the binary a client agent starts as `nai executor`
// for each job: the CLI binary beside the agent when there is one (it
// starts in half the time), else the agent's own binary.
func executorBinary(self string) string {
	if filepath.Base(self) == "nai" {
		return self
	}
	p := filepath.Join(filepath.Dir(self), "nai")
	if isExecutableFile(p) {
		return p
	}
	return self
}
