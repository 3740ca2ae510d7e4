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

// Each rank of a two-node job writes its own outputs and log: the job's
// are rank 0's, although rank 1 ends last, and rank 1's are read with
// -rank 1; a rank the job does not have is refused.
func TestClusterGangRankOutputs(t *testing.T) {
	c := startCluster(t, 1, 2)
	s := c.servers[0]
	job := &structs.Job{
		Name:      "gang-outputs",
		Resources: structs.Resources{CPU: 0.1, MemoryBytes: 64 << 20, Nodes: 2, GPU: structs.GPURequest{Count: 1}},
		// Rank 1 ends a moment after rank 0, so its report comes last:
		// before raft log format 8 the job kept its outputs and log.
		Task: structs.Task{Command: "/bin/sh", Args: []string{"-c",
			`echo "rank $NODE_RANK" > "$NAI_OUTPUT_DIR/rank-$NODE_RANK.txt"; echo "hello from rank $NODE_RANK"; echo "oops from rank $NODE_RANK" >&2; [ "$NODE_RANK" = 1 ] && sleep 1; true`}},
	}
	resp, err := s.api().Register(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.JobIDs[0]
	if j := s.waitJob(id, 60*time.Second); j.Status != structs.JobComplete {
		t.Fatalf("gang job ended %s (%s)", j.Status, j.Reason)
	}
	work := t.TempDir()
	for _, tc := range []struct {
		rank []string // the -rank flag, if any
		want string
	}{{nil, "0"}, {[]string{"-rank", "0"}, "0"}, {[]string{"-rank", "1"}, "1"}} {
		dir := filepath.Join(work, "outputs"+strings.Join(tc.rank, ""))
		s.mustNai(append(append([]string{"job", "outputs"}, tc.rank...), "-o", dir, id)...)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if !slices.Equal(names, []string{"rank-" + tc.want + ".txt"}) {
			t.Errorf("nai job outputs %v: %v, want rank %s's file alone", tc.rank, names, tc.want)
		}
		logs := s.mustNai(append(append([]string{"job", "logs"}, tc.rank...), id)...)
		if strings.TrimSpace(logs) != "hello from rank "+tc.want {
			t.Errorf("nai job logs %v: %q, want rank %s's", tc.rank, logs, tc.want)
		}
		stderr := s.mustNai(append(append([]string{"job", "logs", "-stderr"}, tc.rank...), id)...)
		if strings.TrimSpace(stderr) != "oops from rank "+tc.want {
			t.Errorf("nai job logs -stderr %v: %q, want rank %s's", tc.rank, stderr, tc.want)
		}
	}
	if out := s.mustNai("job", "logs", "-attempt", "1", "-rank", "1", id); strings.TrimSpace(out) != "hello from rank 1" {
		t.Errorf("nai job logs -attempt 1 -rank 1: %q", out)
	}
	_, errOut, code := s.nai("job", "outputs", "-rank", "2", "-o", filepath.Join(work, "none"), id)
	if code == 0 || !strings.Contains(errOut, "0 to 1") {
		t.Errorf("nai job outputs -rank 2: exit %d, %q; want refused, naming ranks 0 to 1", code, errOut)
	}
	status := s.mustNai("job", "status", id)
	if !strings.Contains(status, "RANK") || !strings.Contains(status, "-rank N "+id) {
		t.Errorf("nai job status of a gang job says nothing of its ranks:\n%s", status)
	}
}
