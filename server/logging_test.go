package server

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
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

// raft retries a down peer every few hundred milliseconds with an error
// each time: the first line of a run is logged as it is, then one warning
// per repeatWindow per peer with the count of the lines held back.
func TestRaftRepeatsAreHeldBack(t *testing.T) {
	var b bytes.Buffer
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	w := &slogWriter{logger: slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelInfo})), repeats: newRepeatFilter(func() time.Time { return now })}
	line := func(peer, backoff string) []byte {
		return []byte(`[ERROR] raft: failed to heartbeat to: peer=` + peer + ` backoff time=` + backoff + ` error="dial tcp ` + peer + `: connect: connection refused"` + "\n")
	}
	// 10 minutes of heartbeats to two down peers, every 200ms.
	for i := 0; i < 3000; i++ {
		_, _ = w.Write(line("10.0.0.2:4647", fmt.Sprintf("%dms", 10*(i%8+1))))
		_, _ = w.Write(line("10.0.0.3:4647", "80ms"))
		now = now.Add(200 * time.Millisecond)
	}
	out := b.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// Per peer: one error, then a warning every 30 s (19 more in 10 min).
	if len(lines) != 2*20 {
		t.Errorf("%d lines, want 40:\n%s", len(lines), out)
	}
	if n := strings.Count(out, "level=ERROR"); n != 2 {
		t.Errorf("%d errors, want one per peer:\n%s", n, out)
	}
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "repeated=149 over=30s") {
		t.Errorf("no warning with the count held back:\n%s", lines[2])
	}
	// Quiet for a while, then failing again: an error again.
	now = now.Add(time.Hour)
	b.Reset()
	_, _ = w.Write(line("10.0.0.2:4647", "10ms"))
	if !strings.Contains(b.String(), "level=ERROR") {
		t.Errorf("after an hour of quiet: %s", b.String())
	}
	// Another message is not held back by this one.
	b.Reset()
	_, _ = w.Write([]byte(`[WARN]  raft: heartbeat timeout reached, starting election: last-leader-addr= last-leader-id=` + "\n"))
	if !strings.Contains(b.String(), "level=WARN") {
		t.Errorf("another message: %q", b.String())
	}
}
