package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/acl"
	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

// The routes the web UI reads besides the CLI's: the static files, the
// paged and blocking queue, the job file, the log window and the live
// metric history (the e2e browser tests drive them through the UI).

func baseURL(t *testing.T, c *api.Client) string {
	t.Helper()
	return c.Address()
}

func TestUIStaticFiles(t *testing.T) {
	_, c := testServer(t, t.TempDir(), func(cfg *Config) { cfg.ACL.Enabled = true })
	base := baseURL(t, c)
	for _, tc := range []struct {
		path, ctype, body string
	}{
		{"/ui/", "text/html", `<script type="module" src="js/app.js">`},
		{"/ui/js/app.js", "javascript", "import"},
		{"/ui/vendor/uplot/uPlot.esm.js", "javascript", "uPlot"},
		{"/ui/vendor/uplot/LICENSE", "text/plain", "MIT"},
		// An address of a page, reloaded: the UI itself answers.
		{"/ui/jobs/12", "text/html", `id="app"`},
	} {
		// No token: the files are public even with ACLs on; the data
		// they show comes through the API with the user's token.
		resp, err := http.Get(base + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), tc.ctype) || !strings.Contains(string(b), tc.body) {
			t.Errorf("GET %s: %s %q, body has %q: %v", tc.path, resp.Status, resp.Header.Get("Content-Type"), tc.body, strings.Contains(string(b), tc.body))
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q", tc.path, csp)
		}
	}
	// A token in the URL is refused here too.
	resp, err := http.Get(base + "/ui/?token=abc")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /ui/?token=: %s, want 400", resp.Status)
	}
}

func TestUIRoutesDeclared(t *testing.T) {
	s, _ := testServer(t, t.TempDir())
	want := map[string]string{
		"GET /ui/":              string(acl.Public),
		"GET /v1/metrics":       string(acl.OperatorRead),
		"GET /v1/jobs/{id}/hcl": string(acl.User),
		"GET /v1/queue":         string(acl.User),
	}
	for _, r := range s.RouteTable() {
		k := r.Method + " " + r.Path
		if cap, ok := want[k]; ok {
			if r.Cap != cap {
				t.Errorf("%s needs %s, want %s", k, r.Cap, cap)
			}
			if r.Doc == "" {
				t.Errorf("%s has no doc", k)
			}
			delete(want, k)
		}
	}
	for k := range want {
		t.Errorf("route %s is not in the route table", k)
	}
}

func TestQueuePagingAndFilters(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	if _, err := c.ApplyQueue(ctx, &structs.Queue{Name: "long"}); err != nil {
		t.Fatal(err)
	}
	var jobs []*structs.Job
	for i := range 25 {
		j := gpuJob("q", 1)
		if i%5 == 0 {
			j.User, j.Queue = "bob", "long"
		}
		jobs = append(jobs, j)
	}
	if _, err := c.Register(ctx, jobs...); err != nil {
		t.Fatal(err)
	}
	all, total, idx, err := c.QueuePage(ctx, api.QueueOptions{})
	if err != nil || total != 25 || len(all) != 25 || idx == 0 {
		t.Fatalf("whole queue: %d jobs, total %d, index %d, %v", len(all), total, idx, err)
	}
	for _, tc := range []struct {
		name      string
		o         api.QueueOptions
		n, total  int
		firstJobs string
	}{
		{"first page", api.QueueOptions{Limit: 10}, 10, 25, all[0].ID},
		{"last page", api.QueueOptions{Offset: 20, Limit: 10}, 5, 25, all[20].ID},
		{"past the end", api.QueueOptions{Offset: 40, Limit: 10}, 0, 25, ""},
		{"user", api.QueueOptions{User: "bob"}, 5, 5, ""},
		{"queue", api.QueueOptions{Queue: "long", Limit: 2}, 2, 5, ""},
		{"group that nobody has", api.QueueOptions{Group: "nobody"}, 0, 0, ""},
		{"state running", api.QueueOptions{State: "running"}, 0, 0, ""},
		{"state pending", api.QueueOptions{State: "pending", User: "alice"}, 20, 20, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, total, _, err := c.QueuePage(ctx, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.n || total != tc.total {
				t.Fatalf("%d jobs of %d, want %d of %d", len(got), total, tc.n, tc.total)
			}
			if tc.firstJobs != "" && got[0].ID != tc.firstJobs {
				t.Errorf("page starts at job %s, want %s (the order of the whole queue)", got[0].ID, tc.firstJobs)
			}
			for _, j := range got {
				if (tc.o.User != "" && j.User != tc.o.User) || (tc.o.Queue != "" && j.Queue != tc.o.Queue) {
					t.Errorf("job %s (%s, %s) does not match the filter", j.ID, j.User, j.Queue)
				}
			}
		})
	}
	for _, q := range []string{"state=bogus", "limit=-1", "offset=x"} {
		resp, err := http.Get(baseURL(t, c) + "/v1/queue?" + q)
		if err != nil {
			t.Fatal(err)
		}
		var body structs.ErrorBody
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || body.Error == nil || body.Error.Code != structs.CodeInvalid {
			t.Errorf("/v1/queue?%s: %s %+v, want 400 invalid", q, resp.Status, body.Error)
		}
	}
}

func TestQueueBlockingQuery(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	first, err := c.Register(ctx, gpuJob("first", 1))
	if err != nil {
		t.Fatal(err)
	}
	// The scheduler writes why the job waits: wait for that first.
	waitUntil(t, "the job has a reason", func() bool {
		j, _, err := c.Job(ctx, first.JobIDs[0])
		return err == nil && j.Reason != ""
	})
	_, _, idx, err := c.QueuePage(ctx, api.QueueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing changes: the wait ends with the same index.
	_, _, same, err := c.QueuePage(ctx, api.QueueOptions{Index: idx, Wait: 50 * time.Millisecond})
	if err != nil || same != idx {
		t.Fatalf("idle blocking query: index %d (want %d), %v", same, idx, err)
	}
	got := make(chan int, 1)
	go func() {
		jobs, _, _, err := c.QueuePage(ctx, api.QueueOptions{Index: idx, Wait: 30 * time.Second})
		if err != nil {
			t.Error(err)
		}
		got <- len(jobs)
	}()
	if _, err := c.Register(ctx, gpuJob("second", 1)); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-got:
		if n != 2 {
			t.Errorf("blocking query answered %d jobs, want 2", n)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the queue's blocking query did not answer when a job was added")
	}
}

func TestJobHCL(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	resp, err := c.Register(ctx, gpuJob("as-a-file", 2))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id     string
		status int
		want   string
	}{
		{resp.JobIDs[0], http.StatusOK, `job "as-a-file" {`},
		{"9999", http.StatusNotFound, "job 9999 not found"},
	} {
		r, err := http.Get(baseURL(t, c) + "/v1/jobs/" + tc.id + "/hcl")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != tc.status || !strings.Contains(string(b), tc.want) {
			t.Errorf("job %s as HCL: %s %q, want %d with %q", tc.id, r.Status, b, tc.status, tc.want)
		}
	}
}

// TestLiveMetricsHistory: while a job runs, its history comes from the
// agent of its node, with the caller's token passed along.
func TestLiveMetricsHistory(t *testing.T) {
	lines := "{\"step\": 1, \"loss\": 0.9}\nnot json\n{\"step\": 2, \"loss\": 0.7}\n{\"step\": 3, \"loss\": 0.5}\n{\"step\": 4, \"loss\": NaN}\n"
	var asked string
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = r.URL.Path
		w.Header().Set("Content-Type", "application/x-ndjson")
		io.WriteString(w, lines)
	}))
	t.Cleanup(node.Close)
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	n := testNode("n1", 1)
	n.HTTPAddr = node.URL
	if err := c.RegisterNode(ctx, n, ""); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Register(ctx, gpuJob("live", 1))
	if err != nil {
		t.Fatal(err)
	}
	id := resp.JobIDs[0]
	var j *structs.Job
	waitUntil(t, "the job is placed", func() bool {
		j, _, err = c.Job(ctx, id)
		return err == nil && j.Status == structs.JobRunning
	})
	m, err := c.MetricsFrom(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.History) != 4 || asked != "/v1/client/allocations/"+j.AllocID+"/metrics" {
		t.Fatalf("history %s from %s, want 4 lines from the allocation's node", m.History, asked)
	}
	// The line Python wrote with a bare NaN is kept, as valid JSON, and
	// said to be where loss became NaN; the non-JSON line is counted.
	step := 4.0
	wantNF := map[string]structs.NonFiniteMetric{"loss": {Value: "NaN", First: "NaN", Line: 5, Step: &step}}
	if !strings.Contains(string(m.History[3]), `"loss":"NaN"`) || !reflect.DeepEqual(m.NonFinite, wantNF) || m.SkippedLines != 1 {
		t.Errorf("history %s, non-finite %+v, skipped %d", m.History, m.NonFinite, m.SkippedLines)
	}
	checked, err := c.MetricsChecked(ctx, id)
	if err != nil || checked.History != nil || !reflect.DeepEqual(checked.NonFinite, wantNF) || checked.SkippedLines != 1 {
		t.Errorf("?check=true: %+v, %v", checked, err)
	}
	// Once the job's client reports what it counted (raft log format 7),
	// ?check answers from the job: the node is not asked for the history.
	counted := map[string]structs.NonFiniteMetric{"loss": {Value: "Infinity", First: "NaN", Line: 5, Step: &step}}
	if err := c.UpdateAllocs(ctx, "n1", []*structs.AllocUpdate{{AllocID: j.AllocID, Client: structs.ClientStatusFields{
		Status: structs.AllocRunning, Metrics: map[string]float64{"step": 5}, NonFinite: counted, MetricsSkipped: 2, MetricsCounted: true}}}); err != nil {
		t.Fatal(err)
	}
	asked = ""
	checked, err = c.MetricsChecked(ctx, id)
	if err != nil || asked != "" || !reflect.DeepEqual(checked.NonFinite, counted) || checked.SkippedLines != 2 || checked.Metrics["loss"] != 0 {
		t.Errorf("?check=true after a counted report: %+v, %v; asked the node %q", checked, err, asked)
	}
	plain, err := c.Metrics(ctx, id)
	if err != nil || !reflect.DeepEqual(plain.NonFinite, counted) {
		t.Errorf("metrics without ?check: %+v, %v; want the job's non-finite metrics", plain, err)
	}
	m, err = c.MetricsFrom(ctx, id, 2)
	if err != nil {
		t.Fatal(err)
	}
	if m.From != 2 || len(m.History) != 2 || !strings.Contains(string(m.History[0]), `"step":3`) {
		t.Errorf("from line 2: from %d, %s", m.From, m.History)
	}
	if m, err = c.MetricsFrom(ctx, id, 10); err != nil || len(m.History) != 0 {
		t.Errorf("from past the end: %v %v", m, err)
	}
	r, err := http.Get(baseURL(t, c) + "/v1/jobs/" + id + "/metrics?all=true&from=-1")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusBadRequest {
		t.Errorf("from=-1: %s, want 400", r.Status)
	}
}

func TestLogWindow(t *testing.T) {
	for _, tc := range []struct {
		query         string
		follow        bool
		offset, limit int64
		err           string
	}{
		{"", false, 0, 0, ""},
		{"offset=100", false, 100, 0, ""},
		{"offset=-65536", true, -65536, 0, ""},
		{"offset=10&limit=5", false, 10, 5, ""},
		{"offset=abc", false, 0, 0, "not a byte offset"},
		{"limit=0", false, 0, 0, "above 0"},
		{"limit=10", true, 0, 0, "alternatives"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/v1/jobs/1/logs?"+tc.query, nil)
		off, lim, err := logWindow(r, tc.follow)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || structs.CodeOf(err) != structs.CodeInvalid {
				t.Errorf("%q: error %v, want one saying %q", tc.query, err, tc.err)
			}
			continue
		}
		if err != nil || off != tc.offset || lim != tc.limit {
			t.Errorf("%q: %d, %d, %v; want %d, %d", tc.query, off, lim, err, tc.offset, tc.limit)
		}
	}
}
