package fsm

import (
	"bufio"
	"fmt"

	"github.com/hashicorp/raft"
	"github.com/nai-project/nai/fsm/state"
)

// fsmSnapshot is a point-in-time view of the state that raft persists.
type fsmSnapshot struct {
	snap *state.Snapshot
}

// Persist streams the view into the sink; on any error it cancels the sink
// so raft discards the partial snapshot.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	bw := bufio.NewWriterSize(sink, 64<<10)
	err := s.snap.Persist(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		if cerr := sink.Cancel(); cerr != nil {
			return fmt.Errorf("persist snapshot: %w (cancel: %v)", err, cerr)
		}
		return fmt.Errorf("persist snapshot: %w", err)
	}
	if err := sink.Close(); err != nil {
		return fmt.Errorf("close snapshot: %w", err)
	}
	return nil
}

// Release is a no-op: the view holds nothing that needs freeing.
func (s *fsmSnapshot) Release() {}
