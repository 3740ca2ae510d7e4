package server

import (
	"context"
	"strings"
	"testing"

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
