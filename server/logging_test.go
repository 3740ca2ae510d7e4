package server

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// raft's "failed to get log ... log not found" from replication (a
// follower behind a compacted log, as after every snapshot restore) is
// expected: it reaches the log at debug, other raft errors at error.
func TestRaftLogNotFoundIsDebug(t *testing.T) {
	var b bytes.Buffer
	w := &slogWriter{logger: slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	_, _ = w.Write([]byte(`[ERROR] raft: failed to get log: index=12 error="log not found"` + "\n"))
	if b.Len() != 0 {
		t.Errorf("logged at info or above: %s", b.String())
	}
	_, _ = w.Write([]byte(`[ERROR] raft: failed to make requestVote RPC: target="{Voter b 127.0.0.1:1}" error="dial tcp: connection refused"` + "\n"))
	if !strings.Contains(b.String(), "level=ERROR") {
		t.Errorf("another raft error: %s", b.String())
	}
}
