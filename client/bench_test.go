package client

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// BenchmarkStartToFirstInstruction measures the client's share of issue 2's
// "submit to first instruction": from the allocation appearing in the
// long-poll answer to the task's first instruction (it creates a file).
func BenchmarkStartToFirstInstruction(b *testing.B) {
	f := newFakeServers(b)
	dir := b.TempDir()
	c, err := New(Config{RootTasks: RootTasksAllow, DataDir: dir, NodeName: "bench", Servers: f.api(b), Host: testHost(), ExecutorBinary: selfExe(b)})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mark := filepath.Join(dir, "mark-"+strconv.Itoa(i))
		job := &structs.Job{ID: "b" + strconv.Itoa(i), Name: "bench",
			Resources: structs.Resources{CPU: 1, MemoryBytes: 64 << 20},
			Task:      structs.Task{Command: "touch", Args: []string{mark}}}
		f.put(newAlloc(c, job))
		for !exists(mark) {
			time.Sleep(100 * time.Microsecond)
		}
	}
}
