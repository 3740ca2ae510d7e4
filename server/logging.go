package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// hclogFor gives HashiCorp libraries (raft, serf) an hclog.Logger whose
// lines end up in our slog logger, at warning level and above unless debug
// is on: raft's info chatter is noise for users.
func hclogFor(logger *slog.Logger, name string) hclog.Logger {
	level := hclog.Warn
	if logger.Enabled(context.Background(), slog.LevelDebug) {
		level = hclog.Debug
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:            name,
		Level:           level,
		Output:          &slogWriter{logger: logger.With("lib", name)},
		DisableTime:     true,
		IncludeLocation: false,
	})
}

// slogWriter turns hclog's formatted lines into slog records.
type slogWriter struct{ logger *slog.Logger }

func (w *slogWriter) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimRight(p, "\n"), []byte("\n")) {
		s := string(line)
		lvl := slog.LevelInfo
		switch {
		case isSnapshotCatchUp(s):
			// A follower behind the leader's compacted log (after a
			// snapshot restore, or back from a long absence): raft
			// logs an error and then sends it a snapshot, as designed.
			lvl = slog.LevelDebug
			s = strings.Replace(s, "[ERROR]", "[DEBUG]", 1) + " (a follower is behind the leader's compacted log: raft sends it a snapshot)"

		case strings.Contains(s, "[ERROR]"):
			lvl = slog.LevelError
		case strings.Contains(s, "[WARN]"):
			lvl = slog.LevelWarn
		case strings.Contains(s, "[DEBUG]"), strings.Contains(s, "[TRACE]"):
			lvl = slog.LevelDebug
		}
		w.logger.Log(context.Background(), lvl, s)
	}
	return len(p), nil
}

var _ io.Writer = (*slogWriter)(nil)

// isSnapshotCatchUp matches raft's "failed to get log ... log not found"
// from its replication: the leader no longer holds the entry before a
// follower's next one and falls back to sending a snapshot. Where raft
// cannot go on without the entry it panics right after, with the error.
func isSnapshotCatchUp(line string) bool {
	return strings.Contains(line, "[ERROR]") && strings.Contains(line, "failed to get log") && strings.Contains(line, "log not found")
}
