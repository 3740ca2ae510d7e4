package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// The DDP example (make example-ddp) as a test: examples/ddp/ddp.sh, an
// sbatch script, runs on two clients of this machine with Debian's
// python3-torch; on each node two gloo ranks all-reduce across both nodes.
// Every rank must see world size 2 x NPROC_PER_NODE and the right sum, and
// each node the PET_* values of its rank. Long: it needs torch and takes a
// while to import it four times on a small machine.
func TestLongDDPExample(t *testing.T) {
	if os.Getenv("NAI_LONG") != "1" {
		t.Skip("long test: set NAI_LONG=1 (make test-long)")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import torch").Run(); err != nil {
		t.Skip("Debian's python3-torch is not installed (make example-ddp installs it)")
	}
	// The jobs' python3 is the one with torch: agents pass their PATH on.
	t.Setenv("PATH", "/usr/bin:"+os.Getenv("PATH"))
	t.Setenv("PYTHONDONTWRITEBYTECODE", "1")
	c := startCluster(t, 1, 2)
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(filepath.Dir(file)), "examples", "ddp")
	out, errOut, code := naiIn(t, c.servers[0].addr, dir, "job", "run", "-detach", "ddp.sh")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
	id := strings.TrimSpace(out)
	cl := c.servers[0].api()
	ctx := context.Background()
	waitFor(t, 5*time.Minute, "the DDP job ends", func() bool {
		j, _, err := cl.Job(ctx, id)
		return err == nil && j.Status.Terminal()
	})
	j, _, err := cl.Job(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	allocs, err := cl.JobAllocations(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	port := structs.GangPort(id)
	nodes := map[string]bool{}
	for _, a := range allocs {
		if a.Attempt != j.Attempt {
			continue
		}
		logs := allocLog(t, c, a.ClientStatus.StdoutDigest)
		t.Logf("node %s (rank %d):\n%s", a.NodeName, a.Rank, logs)
		nodes[a.NodeName] = true
		pet := fmt.Sprintf("PET_NNODES=2 PET_NODE_RANK=%d PET_MASTER_ADDR=127.0.0.1 PET_MASTER_PORT=%d PET_NPROC_PER_NODE=2", a.Rank, port)
		for i := range 2 {
			rank := a.Rank*2 + i
			want := fmt.Sprintf("rank %d world 4 sum 10 want 10 %s", rank, pet)
			if !strings.Contains(logs, want+"\n") {
				t.Errorf("node %s (rank %d) lacks %q", a.NodeName, a.Rank, want)
			}
		}
	}
	if len(nodes) != 2 {
		t.Errorf("the job ran on %d nodes, want 2", len(nodes))
	}
	if j.Status != structs.JobComplete {
		t.Fatalf("the DDP job ended %s (%s)", j.Status, j.Reason)
	}
}

// allocLog reads an allocation's final stdout from the blob store.
func allocLog(t *testing.T, c *testCluster, digest string) string {
	t.Helper()
	if digest == "" {
		return ""
	}
	rc, err := c.servers[0].api().Blob(context.Background(), digest)
	if err != nil {
		t.Fatalf("stdout blob %s: %v", digest, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
