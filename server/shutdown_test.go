package server

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/structs"
)

// A server shut down while writes are in flight stops: every write returns
// (with its answer or an error), and Shutdown does not wait for ever on a
// raft future that raft will never answer (hashicorp/raft#498).
func TestShutdownDuringWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and stops servers")
	}
	for round := range 15 {
		s := startLeader(t, Config{DataDir: t.TempDir(), NodeName: "test", Bootstrap: true, SchedulerInterval: time.Second,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					node := testNode(fmt.Sprintf("n%d-%d-%d", round, w, i), 1)
					if _, _, err := s.apply(fsm.NodeRegister, &structs.NodeRegisterRequest{Node: node, Now: time.Now()}); err != nil {
						return
					}
				}
			}()
		}
		time.Sleep(time.Duration(10+round*5) * time.Millisecond)
		done := make(chan struct{})
		go func() {
			s.Shutdown()
			wg.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: Shutdown and the writers have not returned after 30 s", round)
		}
	}
}
