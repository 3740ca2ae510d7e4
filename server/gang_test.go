package server

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

// A two-node job starts on two nodes at once, and each node's allocation
// says where rank 0 runs, so both can rendezvous.
func TestGangAllocationsKnowTheirMaster(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	n1, n2 := testNode("n1", 4), testNode("n2", 4)
	n1.HTTPAddr, n2.HTTPAddr = "http://10.0.0.1:4646", "http://10.0.0.2:4646"
	for _, n := range []*structs.Node{n1, n2} {
		if err := c.RegisterNode(ctx, n, ""); err != nil {
			t.Fatal(err)
		}
	}
	job := gpuJob("gang", 4)
	job.Resources.Nodes = 2
	resp, err := c.Register(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.JobIDs[0]
	var got []*structs.Allocation
	waitUntil(t, "both nodes get their rank", func() bool {
		got = got[:0]
		for _, n := range []string{"n1", "n2"} {
			as, _, err := c.NodeAllocations(ctx, n, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, as...)
		}
		return len(got) == 2
	})
	master := ""
	ranks := map[int]bool{}
	for _, a := range got {
		if a.JobID != id || a.Gang == nil {
			t.Fatalf("allocation %s has no gang info: %+v", a.ID, a)
		}
		if a.Gang.Nodes != 2 || a.Gang.MasterPort != structs.GangPort(id) {
			t.Errorf("allocation %s gang = %+v", a.ID, a.Gang)
		}
		if a.Rank == 0 {
			master = map[string]string{"n1": "10.0.0.1", "n2": "10.0.0.2"}[a.NodeID]
		}
		ranks[a.Rank] = true
	}
	if !ranks[0] || !ranks[1] {
		t.Fatalf("ranks = %v, want 0 and 1", ranks)
	}
	for _, a := range got {
		if a.Gang.MasterAddr != master {
			t.Errorf("allocation %s: MASTER_ADDR %q, want rank 0's host %q", a.ID, a.Gang.MasterAddr, master)
		}
	}
}

// startGang registers a two-node job and waits until both ranks are
// placed: the allocations of rank 0 and rank 1.
func startGang(t *testing.T, c *api.Client, name string) (string, [2]*structs.Allocation) {
	t.Helper()
	ctx := context.Background()
	job := gpuJob(name, 4)
	job.Resources.Nodes = 2
	resp, err := c.Register(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.JobIDs[0]
	var ranks [2]*structs.Allocation
	waitUntil(t, "both ranks of job "+id+" are placed", func() bool {
		as, err := c.JobAllocations(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		ranks = [2]*structs.Allocation{}
		for _, a := range as {
			ranks[a.Rank] = a
		}
		return ranks[0] != nil && ranks[1] != nil
	})
	return id, ranks
}

// A gang job's outputs and logs are its rank 0's, whichever rank reports
// last; ?rank=N reads another rank's (of the current attempt), a rank that
// is not a number from 0 to N-1 is refused, and a rank without outputs is
// not found with a message that says where they are.
func TestGangRankOutputsAndLogs(t *testing.T) {
	s, c := testServer(t, t.TempDir())
	ctx := context.Background()
	for _, n := range []*structs.Node{testNode("n1", 4), testNode("n2", 4)} {
		if err := c.RegisterNode(ctx, n, ""); err != nil {
			t.Fatal(err)
		}
	}
	blob := func(content string) string {
		info, err := s.blobs.Put(strings.NewReader(content), "")
		if err != nil {
			t.Fatal(err)
		}
		return info.Digest
	}
	zero := 0
	end := func(a *structs.Allocation, outputs bool) {
		t.Helper()
		r := strconv.Itoa(a.Rank)
		cs := structs.ClientStatusFields{Status: structs.AllocComplete, ExitCode: &zero, ExitReason: structs.ExitExited,
			StdoutDigest: blob("stdout of rank " + r + " of job " + a.JobID), StderrDigest: blob("stderr of rank " + r + " of job " + a.JobID)}
		if outputs {
			cs.OutputDigest, cs.OutputSize, cs.OutputFiles = blob("outputs of rank "+r+" of job "+a.JobID), 20, 1
		}
		if err := c.UpdateAllocs(ctx, a.NodeID, []*structs.AllocUpdate{{AllocID: a.ID, Client: cs}}); err != nil {
			t.Fatal(err)
		}
	}
	read := func(rc io.ReadCloser, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	rank := func(n int) *int { return &n }

	// Rank 1 reports last: the job still keeps rank 0's.
	id, ranks := startGang(t, c, "gang")
	end(ranks[0], true)
	end(ranks[1], true)
	waitUntil(t, "the gang job completes", func() bool {
		j, _, err := c.Job(ctx, id)
		return err == nil && j.Status == structs.JobComplete
	})
	for _, tc := range []struct {
		name string
		got  func() (io.ReadCloser, error)
		want string
	}{
		{"outputs", func() (io.ReadCloser, error) { return c.Outputs(ctx, id) }, "outputs of rank 0"},
		{"outputs ?rank=0", func() (io.ReadCloser, error) { return c.RankOutputs(ctx, id, 0) }, "outputs of rank 0"},
		{"outputs ?rank=1", func() (io.ReadCloser, error) { return c.RankOutputs(ctx, id, 1) }, "outputs of rank 1"},
		{"logs", func() (io.ReadCloser, error) { return c.Logs(ctx, id, api.LogOptions{}) }, "stdout of rank 0"},
		{"logs ?rank=1", func() (io.ReadCloser, error) { return c.Logs(ctx, id, api.LogOptions{Rank: rank(1)}) }, "stdout of rank 1"},
		{"stderr ?rank=1", func() (io.ReadCloser, error) { return c.Logs(ctx, id, api.LogOptions{Rank: rank(1), Stderr: true}) }, "stderr of rank 1"},
		{"stderr ?rank=0", func() (io.ReadCloser, error) { return c.Logs(ctx, id, api.LogOptions{Rank: rank(0), Stderr: true}) }, "stderr of rank 0"},
	} {
		if got := read(tc.got()); got != tc.want+" of job "+id {
			t.Errorf("%s: %q, want %s's", tc.name, got, tc.want)
		}
	}

	// Bad ranks are refused, naming what was expected.
	for _, q := range []string{"outputs?rank=-1", "outputs?rank=x", "outputs?rank=99", "outputs?rank=2", "outputs?rank=", "outputs?rank=1.0",
		"logs?rank=-1", "logs?rank=x", "logs?rank=99", "logs?rank=1&alloc=" + ranks[1].ID} {
		resp, err := http.Get(c.Address() + "/v1/jobs/" + id + "/" + q)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"code":"invalid"`) {
			t.Errorf("GET %s: %d %s, want 400 invalid", q, resp.StatusCode, b)
		}
		if !strings.Contains(q, "alloc=") && !strings.Contains(string(b), "from 0 to 1") {
			t.Errorf("GET %s: %s; want it to say a rank is 0 to 1", q, b)
		}
	}

	// Rank 0 kept no outputs: the job has none, and says which rank has.
	id2, ranks2 := startGang(t, c, "gang-2")
	end(ranks2[1], true)
	end(ranks2[0], false)
	waitUntil(t, "the second gang job completes", func() bool {
		j, _, err := c.Job(ctx, id2)
		return err == nil && j.Status == structs.JobComplete
	})
	if _, err := c.Outputs(ctx, id2); !api.IsNotFound(err) || !strings.Contains(err.Error(), "-rank 1 "+id2) {
		t.Errorf("outputs of a gang whose rank 0 kept none: %v; want not found, pointing at rank 1", err)
	}
	if _, err := c.RankOutputs(ctx, id2, 0); !api.IsNotFound(err) || !strings.Contains(err.Error(), "rank 0 of job "+id2) {
		t.Errorf("outputs of rank 0, which kept none: %v; want not found, naming the rank", err)
	}
	if got := read(c.RankOutputs(ctx, id2, 1)); got != "outputs of rank 1 of job "+id2 {
		t.Errorf("outputs ?rank=1: %q", got)
	}
}

// ?rank=N passes the same door as the job's own outputs and logs: a
// caller who may not read the job's data is refused before the rank is
// read (a refused caller learns nothing of the job from the answer; one
// who may not even see it is told it does not exist), and
// one who may gets the rank's answer (here: the job runs on one node).
func TestRankRoutesACL(t *testing.T) {
	f := newACLFixture(t)
	for _, q := range []string{"outputs?rank=1", "outputs?rank=x", "logs?rank=1", "logs?rank=x"} {
		for _, c := range callers {
			switch c {
			case "none", "unknown", "expired", "revoked":
				continue // the door's matrix (TestAccessMatrix)
			}
			req, err := http.NewRequest("GET", f.base+"/v1/jobs/"+f.jobID+"/"+q, nil)
			if err != nil {
				t.Fatal(err)
			}
			if s := f.secrets[c]; s != "" {
				req.Header.Set("Authorization", "Bearer "+s)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := http.StatusForbidden
			switch {
			case slices.Contains(jobDataReader, c):
				want = http.StatusBadRequest
			case slices.Contains(unseen, c):
				want = http.StatusNotFound // as for a job that does not exist
			}
			if resp.StatusCode != want {
				t.Errorf("%s as %s: %d %s, want %d", q, c, resp.StatusCode, b, want)
			}
		}
	}
}
