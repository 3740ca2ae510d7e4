package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

// The CLI binary (cmd/nai built with the nai_cli tag) is what people run
// hundreds of times a minute and what runs each job's executor where
// nai-executor is not installed: it must
// not link the agent, whose initialisers and size cost every process of it
// milliseconds (cmd/nai/agent_bin.go). `nai agent` becomes nai-agent.
var notInCLI = []string{
	module + "/server",
	module + "/client",
	module + "/client/fingerprint",
	module + "/membership",
	module + "/fsm",
	module + "/gateway",
	module + "/ui",
	"github.com/hashicorp/raft",
	"github.com/hashicorp/serf/serf",
	"github.com/hashicorp/memberlist",
	"github.com/NVIDIA/go-nvml/pkg/nvml",
	// Creating cgroups (package cgroups, the agent's); the executor in
	// this binary only uses them, through cgroups/cgroupfs.
	module + "/cgroups",
	"github.com/containerd/cgroups/v3",
	"github.com/containerd/cgroups/v3/cgroup1",
	"github.com/containerd/cgroups/v3/cgroup2",
	"google.golang.org/protobuf/proto",
	"github.com/cilium/ebpf",
	"github.com/opencontainers/runtime-spec/specs-go",
	"github.com/godbus/dbus/v5",
	"github.com/sirupsen/logrus",
	// hclwrite (and gohcl, which imports it) link go-cmp, whose
	// initialisers cost every run most of a millisecond: nai writes HCL
	// with internal/hclout and decodes it with internal/hclstruct.
	"github.com/hashicorp/hcl/v2/hclwrite",
	"github.com/hashicorp/hcl/v2/gohcl",
	"github.com/google/go-cmp/cmp",
	"net/http/pprof",
	"runtime/cgo",
	// internal/ignore matches gitignore patterns itself: go-git's matcher
	// brought encoding/gob, gcfg, go-billy and x/net/context, whose
	// initialisers cost every CLI call a third of a millisecond. gob
	// stays out too (the agent has it, through net/rpc).
	"github.com/go-git/go-git/v5/plumbing/format/gitignore",
	"encoding/gob",
}

func TestCLIBinaryLeavesTheAgentOut(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	cmd := exec.Command("go", "list", "-tags", "urfave_cli_no_docs nai_cli", "-deps", "./cmd/nai")
	cmd.Dir = moduleRoot(t)
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		deps[p] = true
	}
	if !deps[module+"/api"] || !deps[module+"/jobspec"] {
		t.Fatalf("go list of the CLI binary lacks api and jobspec; the listing was:\n%s", out)
	}
	for _, p := range notInCLI {
		if deps[p] {
			t.Errorf("the CLI binary links %s: keep it out (build tag nai_cli on the file that needs it, or a lighter package)", p)
		}
	}
}
