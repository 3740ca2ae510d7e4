package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// A two-node job starts on both clients at once, and each node's process
// gets the rendezvous variables torchrun needs.
func TestClusterGangJob(t *testing.T) {
	c := startCluster(t, 1, 2)
	side := filepath.Join(t.TempDir(), "ranks")
	job := &structs.Job{
		Name:      "gang",
		Resources: structs.Resources{CPU: 0.1, MemoryBytes: 64 << 20, Nodes: 2, GPU: structs.GPURequest{Count: 2}},
		Task: structs.Task{Command: "/bin/sh", Args: []string{"-c",
			`echo "$NODE_RANK $MASTER_ADDR $MASTER_PORT $WORLD_SIZE $NNODES $NAI_NODE_NAME $CUDA_VISIBLE_DEVICES" >> ` + side}},
	}
	resp, err := c.servers[0].api().Register(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.JobIDs[0]
	waitFor(t, 60*time.Second, "the gang job ends", func() bool {
		j, _, err := c.servers[0].api().Job(context.Background(), id)
		return err == nil && j.Status.Terminal()
	})
	j, _, _ := c.servers[0].api().Job(context.Background(), id)
	if j.Status != structs.JobComplete {
		t.Fatalf("gang job ended %s (%s)", j.Status, j.Reason)
	}
	b, err := os.ReadFile(side)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	slices.Sort(lines)
	if len(lines) != 2 {
		t.Fatalf("want one line per node, got:\n%s", b)
	}
	var nodes []string
	for i, line := range lines {
		f := strings.Fields(line)
		if len(f) != 7 {
			t.Fatalf("bad line %q", line)
		}
		if f[0] != []string{"0", "1"}[i] || f[1] != "127.0.0.1" || f[2] != strconv.Itoa(structs.GangPort(id)) || f[3] != "4" || f[4] != "2" || f[6] != "0,1" {
			t.Errorf("rank line %q: want rank %d, MASTER_ADDR 127.0.0.1, MASTER_PORT from the job id, WORLD_SIZE 4, NNODES 2, GPUs 0,1", line, i)
		}
		nodes = append(nodes, f[5])
	}
	if nodes[0] == nodes[1] {
		t.Errorf("both ranks ran on %s", nodes[0])
	}
}
