package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/structs"
)

// The queue's three forms (whole jobs, indented whole jobs, rows) are what
// encoding the listed jobs would give, before and after a job changes:
// the cached encodings never show a job's old version.
func TestQueueEncodings(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	var ids []string
	for range 3 {
		r, err := c.Register(ctx, gpuJob("q", 1))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.JobIDs[0])
	}
	get := func(query string) []byte {
		t.Helper()
		resp, err := http.Get(c.Address() + "/v1/queue" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /v1/queue%s: %s %v: %s", query, resp.Status, err, b)
		}
		return b
	}
	check := func(wantStatus structs.JobStatus) {
		t.Helper()
		var jobs []*structs.Job
		if err := json.Unmarshal(get("?all=true"), &jobs); err != nil {
			t.Fatal(err)
		}
		if len(jobs) != len(ids) {
			t.Fatalf("%d jobs listed, want %d", len(jobs), len(ids))
		}
		if jobs[0].Status != wantStatus && jobs[len(jobs)-1].Status != wantStatus {
			t.Errorf("no job listed as %s", wantStatus)
		}
		pretty, err := json.MarshalIndent(jobs, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if got := get("?all=true&pretty=true"); !bytes.Equal(got, append(pretty, '\n')) {
			t.Errorf("?pretty=true is not the indented list:\n%s\nwant:\n%s", got, pretty)
		}
		var rows []structs.JobRow
		if err := json.Unmarshal(get("?all=true&view=row"), &rows); err != nil {
			t.Fatal(err)
		}
		for i, j := range jobs {
			if want := j.Row(); !jsonEqual(t, rows[i], want) {
				t.Errorf("row %d = %+v, want %+v", i, rows[i], want)
			}
		}
		// The table as `nai queue` prints it: a header, then one line
		// per job in the same order, its state and reason in it.
		lines := strings.Split(strings.TrimSuffix(string(get("?all=true&view=table")), "\n"), "\n")
		if len(lines) != len(jobs)+1 || !strings.HasPrefix(lines[0], "ID ") || !strings.HasSuffix(lines[0], "REASON") {
			t.Fatalf("?view=table:\n%s", strings.Join(lines, "\n"))
		}
		for i, j := range jobs {
			f := strings.Fields(lines[i+1])
			if len(f) < 8 || f[0] != j.ID || f[3] != string(j.Status) || !strings.Contains(lines[i+1], jobtext.QueueReason(j, time.Now())) {
				t.Errorf("table line %d %q does not show job %s (%s, %q)", i+1, lines[i+1], j.ID, j.Status, jobtext.QueueReason(j, time.Now()))
			}
		}
	}
	// The scheduler writes why each job waits; compare once it has.
	settled := func() bool {
		jobs, err := c.Queue(ctx, true)
		if err != nil {
			return false
		}
		for _, j := range jobs {
			if j.Status == structs.JobPending && j.Reason == "" {
				return false
			}
		}
		return true
	}
	waitUntil(t, "every pending job has its waiting reason", settled)
	check(structs.JobPending)
	if err := c.Cancel(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	check(structs.JobCancelled)

	t.Run("bad view", func(t *testing.T) {
		for _, q := range []string{"?view=tabel", "?view=table&pretty=true", "?view=row&pretty=true", "?pretty=yes"} {
			resp, err := http.Get(c.Address() + "/v1/queue" + q)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "expected") && !strings.Contains(string(b), "without view") {
				t.Errorf("%s: %s %s, want 400 saying what is expected", q, resp.Status, b)
			}
		}
	})
}

func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	x, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}

// The cache rotates: encodings no listing asks for any more are dropped.
func TestJobEncodingsRotate(t *testing.T) {
	var c jobEncodings
	for i := range 3 * minEncCache {
		c.get(&structs.Job{ID: "x", Priority: i}, encCompact)
	}
	if n := len(c.cur) + len(c.old); n > 2*minEncCache+2 {
		t.Errorf("%d encodings kept after %d distinct jobs, want at most about %d", n, 3*minEncCache, 2*minEncCache)
	}
	j := &structs.Job{ID: "y"}
	a := c.get(j, encCompact)
	if b := c.get(j, encCompact); &a[0] != &b[0] {
		t.Error("the second lookup of the same job encoded it again")
	}
}

// After reset nothing is kept (the jobs the encodings named can be
// collected), and lookups encode again.
func TestJobEncodingsReset(t *testing.T) {
	var c jobEncodings
	j := &structs.Job{ID: "x"}
	a := c.get(j, encCompact)
	c.reset()
	if n := len(c.cur) + len(c.old); n != 0 {
		t.Errorf("%d encodings kept after reset", n)
	}
	b := c.get(j, encCompact)
	if &a[0] == &b[0] || string(a) != string(b) {
		t.Errorf("after reset the job was not encoded again, or differently: %s / %s", a, b)
	}
}
