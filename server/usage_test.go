package server

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/structs"
)

// runFor has a placed job's client report it ran from start to end and
// ended with status.
func runFor(t testing.TB, c *api.Client, j *structs.Job, node string, start, end time.Time, status structs.AllocStatus) string {
	t.Helper()
	ctx := context.Background()
	resp, err := c.Register(ctx, j)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.JobIDs[0]
	var allocID string
	deadline := time.Now().Add(10 * time.Second)
	for {
		jj, _, err := c.Job(ctx, id)
		if err == nil && jj.Status == structs.JobRunning {
			allocID = jj.AllocID
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s was not placed", id)
		}
		time.Sleep(5 * time.Millisecond)
	}
	code := 0
	if status != structs.AllocComplete {
		code = 1
	}
	err = c.UpdateAllocs(ctx, node, []*structs.AllocUpdate{{AllocID: allocID, Client: structs.ClientStatusFields{
		Status: status, ExitCode: &code, ExitReason: structs.ExitExited, StartTime: start, EndTime: end,
		Usage: &structs.ResourceUsage{CPUSeconds: end.Sub(start).Seconds() / 2}}}})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestUsageEqualsHandSum: a scripted set of jobs (over two days, two users,
// two groups, every final state) and the usage the hand computes.
func TestUsageEqualsHandSum(t *testing.T) {
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()
	if err := c.RegisterNode(ctx, testNode("n1", 8), ""); err != nil {
		t.Fatal(err)
	}
	day := time.Now().UTC().Truncate(24 * time.Hour).Add(-48 * time.Hour) // two days ago, midnight
	job := func(user, group string, gpus int, cpu float64) *structs.Job {
		j := gpuJob(fmt.Sprintf("%s-%d", user, gpus), gpus)
		j.User, j.Group, j.Resources.CPU = user, group, cpu
		return j
	}
	// alice/vision: 2 GPUs, 2 cores, 3h on day 1 (complete).
	runFor(t, c, job("alice", "vision", 2, 2), "n1", day.Add(time.Hour), day.Add(4*time.Hour), structs.AllocComplete)
	// alice/vision: 4 GPUs, 1 core, from 22:00 day 1 to 02:00 day 2 (failed): 2h on each day.
	runFor(t, c, job("alice", "vision", 4, 1), "n1", day.Add(22*time.Hour), day.Add(26*time.Hour), structs.AllocFailed)
	// bob/nlp: 1 GPU, 4 cores, 30 min on day 2 (complete).
	runFor(t, c, job("bob", "nlp", 1, 4), "n1", day.Add(30*time.Hour), day.Add(30*time.Hour+30*time.Minute), structs.AllocComplete)
	// bob/nlp: a job cancelled while pending (no usage, counted cancelled).
	cj, err := c.Register(ctx, func() *structs.Job { j := job("bob", "nlp", 64, 1); return j }())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Cancel(ctx, cj.JobIDs[0]); err != nil {
		t.Fatal(err)
	}

	get := func(by, user, group string) *structs.UsageReport {
		t.Helper()
		rep, err := c.Usage(ctx, api.UsageFilter{Since: "7d", By: by, User: user, Group: group})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	d1, d2 := day.Format("2006-01-02"), day.Add(24*time.Hour).Format("2006-01-02")
	byDay := get("day", "", "")
	want := map[string][2]float64{ // GPU-hours, CPU-hours
		d1: {2*3 + 4*2, 2*3 + 1*2},
		d2: {4*2 + 1*0.5, 1*2 + 4*0.5},
	}
	for _, l := range byDay.Lines {
		if w, ok := want[l.Key]; ok {
			if !near(l.GPUHours, w[0]) || !near(l.CPUHours, w[1]) {
				t.Errorf("day %s: %.4f GPU-h %.4f CPU-h, want %.4f and %.4f", l.Key, l.GPUHours, l.CPUHours, w[0], w[1])
			}
			delete(want, l.Key)
		}
	}
	if len(want) != 0 {
		t.Errorf("days missing from the report: %v (got %+v)", want, byDay.Lines)
	}
	if !near(byDay.Total.GPUHours, 6+8+8+0.5) {
		t.Errorf("total GPU-hours %.4f, want 22.5", byDay.Total.GPUHours)
	}
	byUser := get("user", "", "")
	for _, l := range byUser.Lines {
		switch l.Key {
		case "alice":
			if !near(l.GPUHours, 6+16) || l.Jobs[structs.JobComplete] != 1 || l.Jobs[structs.JobFailed] != 1 {
				t.Errorf("alice: %+v", l)
			}
		case "bob":
			if !near(l.GPUHours, 0.5) || l.Jobs[structs.JobComplete] != 1 || l.Jobs[structs.JobCancelled] != 1 {
				t.Errorf("bob: %+v", l)
			}
		}
	}
	if g := get("group", "", "nlp"); len(g.Lines) != 1 || !near(g.Lines[0].CPUHours, 2) {
		t.Errorf("group nlp: %+v", g.Lines)
	}
	if _, err := c.Usage(ctx, api.UsageFilter{By: "week"}); err == nil {
		t.Error("by week was accepted")
	}
	if _, err := c.Usage(ctx, api.UsageFilter{Since: "soon"}); err == nil {
		t.Error("since soon was accepted")
	}
}

// TestJobGCKeepsUsage: finished jobs past the threshold leave the live
// tables; their usage and fair share stay; a job a live job depends on
// stays.
func TestJobGCKeepsUsage(t *testing.T) {
	s, c := testServer(t, t.TempDir(), multifactor)
	ctx := context.Background()
	if err := c.RegisterNode(ctx, testNode("n1", 8), ""); err != nil {
		t.Fatal(err)
	}
	long := time.Now().Add(-100 * time.Hour)
	old := runFor(t, c, gpuJob("old", 2), "n1", long, long.Add(2*time.Hour), structs.AllocComplete)
	kept := runFor(t, c, gpuJob("dep", 1), "n1", long, long.Add(time.Hour), structs.AllocComplete)
	// A live job that depends on the second keeps it.
	waiting := gpuJob("waits", 64)
	waiting.DependsOn = []structs.Dependency{{Type: structs.AfterOK, JobID: kept}}
	if _, err := c.Register(ctx, waiting); err != nil {
		t.Fatal(err)
	}
	time.Sleep(fairShareRefresh)
	before, err := c.ShareReport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	usageOf := func(rows []structs.ShareInfo) float64 {
		for _, r := range rows {
			if r.Kind == structs.AccountUser && r.Name == "alice" {
				return r.Usage
			}
		}
		return -1
	}
	resp, _, err := s.apply(fsm.JobGC, &structs.JobGCRequest{Before: time.Now().Add(-72 * time.Hour), Max: 100, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if r := resp.(*structs.JobGCResponse); r.Jobs != 1 || r.Allocs != 1 {
		t.Errorf("gc removed %+v, want the one old job and its allocation", r)
	}
	if _, _, err := c.Job(ctx, old); !api.IsNotFound(err) {
		t.Errorf("the old job is still there: %v", err)
	}
	if _, _, err := c.Job(ctx, kept); err != nil {
		t.Errorf("the job a live job depends on went: %v", err)
	}
	rep, err := c.Usage(ctx, api.UsageFilter{Since: "30d", By: "user"})
	if err != nil || len(rep.Lines) != 1 || math.Abs(rep.Lines[0].GPUHours-5) > 1e-6 {
		t.Errorf("usage after gc: %+v, %v; want alice's 5 GPU-hours", rep, err)
	}
	// Fair share still sees the old usage (to within the day granularity
	// of archived usage).
	time.Sleep(fairShareRefresh)
	after, err := c.ShareReport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, a := usageOf(before), usageOf(after)
	if b <= 0 || math.Abs(a-b)/b > 0.15 {
		t.Errorf("alice's decayed usage %.4f before gc, %.4f after", b, a)
	}
}

// BenchmarkJobGCMemory reports the server's live heap with 20,000 finished
// jobs and after job GC removed them (figures in BENCH.md): memory returns
// near the idle figure.
func BenchmarkJobGCMemory(b *testing.B) {
	heap := func() float64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return float64(m.HeapAlloc) / (1 << 20)
	}
	for range b.N {
		s, c := testServer(b, b.TempDir())
		ctx := context.Background()
		if err := c.RegisterNode(ctx, testNode("n1", 8), ""); err != nil {
			b.Fatal(err)
		}
		idle := heap()
		const n = 20000
		const batch = 20
		for i := 0; i < n; i += batch {
			jobs := make([]*structs.Job, batch)
			for k := range jobs {
				jobs[k] = gpuJob(fmt.Sprintf("j%d", i+k), 0)
			}
			resp, err := c.Register(ctx, jobs...)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := s.apply(fsm.JobCancel, &structs.JobCancelRequest{JobIDs: resp.JobIDs, Reason: structs.ExitCancelled,
				Now: time.Now().Add(-100 * time.Hour)}); err != nil {
				b.Fatal(err)
			}
		}
		full := heap()
		for {
			resp, _, err := s.apply(fsm.JobGC, &structs.JobGCRequest{Before: time.Now().Add(-72 * time.Hour), Max: 5000, Now: time.Now()})
			if err != nil {
				b.Fatal(err)
			}
			if resp.(*structs.JobGCResponse).Jobs == 0 {
				break
			}
		}
		after := heap()
		b.ReportMetric(idle, "idle-MiB")
		b.ReportMetric(full, "20k-finished-MiB")
		b.ReportMetric(after, "after-gc-MiB")
		s.Shutdown()
	}
}
