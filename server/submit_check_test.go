package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// The API refuses a memory limit no task can start in, for a job and for
// a sweep's template, before anything is written; the state machine would
// take it (old logs hold such jobs and replay as they did).
func TestSubmitRefusesTinyMemory(t *testing.T) {
	s, c := testServer(t, t.TempDir())
	ctx := context.Background()
	before := s.State().Snapshot().Index()
	j := gpuJob("tiny", 0)
	j.Resources.MemoryBytes = 10
	_, err := c.Register(ctx, j)
	if structs.CodeOf(err) != structs.CodeInvalid || !strings.Contains(err.Error(), "10B is below the 4MiB a task needs") {
		t.Fatalf("register: %v, want invalid saying the memory is too small", err)
	}
	spec := sweepOf(t, 2, "")
	spec.Template.Resources.MemoryBytes = 10
	if _, err := c.RegisterSweep(ctx, spec); structs.CodeOf(err) != structs.CodeInvalid || !strings.Contains(err.Error(), "below the 4MiB") {
		t.Fatalf("register sweep: %v, want invalid saying the memory is too small", err)
	}
	if after := s.State().Snapshot().Index(); after != before {
		t.Errorf("a refused submission wrote to the state: index %d -> %d", before, after)
	}
}

// TestSubmitRefusesLargeFields: a job's fields are bounded in size (a
// red-team walkthrough stored a 20 MB task.script: 19 MB of raft log, in
// every server's memory), for a job, a sweep's template, a sweep's member
// and a service, with the limit and where large content belongs.
func TestSubmitRefusesLargeFields(t *testing.T) {
	// No audit writes in the middle of the comparisons of the index.
	s, c := testServer(t, t.TempDir(), func(c *Config) { c.Audit.FlushInterval = time.Hour })
	ctx := context.Background()
	before := s.State().Snapshot().Index()
	big := strings.Repeat("x", structs.MaxScriptBytes+1)
	envMany := map[string]string{}
	for i := range structs.MaxEnvVars + 1 {
		envMany[fmt.Sprintf("V%d", i)] = "1"
	}
	for _, tc := range []struct {
		name string
		set  func(*structs.Job)
		want string
	}{
		{"script", func(j *structs.Job) { j.Task.Script = big }, "task.script is 256KiB: the limit is 256KiB"},
		{"one env value", func(j *structs.Job) { j.Task.Env = map[string]string{"BIG": big[:structs.MaxEnvValueBytes+1]} }, "task.env BIG is 64KiB: the limit for one value is 64KiB"},
		{"env count", func(j *structs.Job) { j.Task.Env = envMany }, "task.env has 513 variables: the limit is 512"},
		{"args", func(j *structs.Job) { j.Task.Args = []string{big[:200<<10], big[:100<<10]} }, "task.command and task.args are"},
	} {
		j := gpuJob("big", 0)
		tc.set(j)
		_, err := c.Register(ctx, j)
		if structs.CodeOf(err) != structs.CodeInvalid || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "code folder") {
			t.Errorf("%s: %v, want invalid saying %q and where large content goes", tc.name, err, tc.want)
		}
	}
	// A sweep: the template, and one member's own script.
	spec := sweepOf(t, 2, "")
	spec.Template.Task.Script = big
	if _, err := c.RegisterSweep(ctx, spec); structs.CodeOf(err) != structs.CodeInvalid || !strings.Contains(err.Error(), "task.script") {
		t.Errorf("sweep template: %v", err)
	}
	jobs := make([]*structs.Job, 2)
	for i := range jobs {
		j := &structs.Job{Name: "lr", Resources: structs.Resources{CPU: 1, MemoryBytes: 1 << 30}, Task: structs.Task{Script: "echo small"}}
		if i == 1 {
			j.Task.Script = big
		}
		j.SetSweepMember(i, 2, 0, map[string]string{"i": fmt.Sprint(i)})
		jobs[i] = j
	}
	member, err := structs.NewSweepSpec(jobs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterSweep(ctx, member); structs.CodeOf(err) != structs.CodeInvalid || !strings.Contains(err.Error(), "member 1: task.script") {
		t.Errorf("sweep member: %v", err)
	}
	if after := s.State().Snapshot().Index(); after != before {
		t.Errorf("a refused submission wrote to the state: index %d -> %d", before, after)
	}
	// A service's environment.
	pushModel(t, c, "m", []string{"python3", "serve.py"})
	before = s.State().Snapshot().Index()
	if _, err := c.Serve(ctx, &structs.ServeRequest{Model: "m", Env: map[string]string{"BIG": big}}); structs.CodeOf(err) != structs.CodeInvalid || !strings.Contains(err.Error(), "task.env BIG") {
		t.Errorf("service: %v", err)
	}
	if after := s.State().Snapshot().Index(); after != before {
		t.Errorf("a refused submission wrote to the state: index %d -> %d", before, after)
	}
}
