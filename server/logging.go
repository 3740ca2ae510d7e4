package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

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
		Output:          &slogWriter{logger: logger.With("lib", name), repeats: newRepeatFilter(time.Now)},
		DisableTime:     true,
		IncludeLocation: false,
	})
}

// slogWriter turns hclog's formatted lines into slog records.
type slogWriter struct {
	logger *slog.Logger
	// repeats, when set, holds back a warning or error repeated within
	// repeatWindow (raft retries a down peer every few hundred
	// milliseconds, an error each time).
	repeats *repeatFilter
}

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
		if lvl >= slog.LevelWarn && w.repeats != nil {
			n, since, ok := w.repeats.admit(s)
			if !ok {
				continue
			}
			if n > 0 {
				// A summary of a repeating message: a warning, whatever
				// its level; the first of a run kept its own.
				w.logger.Log(context.Background(), slog.LevelWarn, s, "repeated", n, "over", since.Round(time.Second).String())
				continue
			}
		}
		w.logger.Log(context.Background(), lvl, s)
	}
	return len(p), nil
}

// repeatWindow is how often a repeating raft message is logged.
const repeatWindow = 30 * time.Second

// repeatFilter passes the first line of a message (by its text before
// the first key=value, and the peer it names), then one line per
// repeatWindow with the count of those held back.
type repeatFilter struct {
	now  func() time.Time
	mu   sync.Mutex
	seen map[string]*repeatRun
}

type repeatRun struct {
	start time.Time
	held  int
}

func newRepeatFilter(now func() time.Time) *repeatFilter {
	return &repeatFilter{now: now, seen: map[string]*repeatRun{}}
}

// repeatKeyPeer finds the peer a raft line names.
var repeatKeyPeer = regexp.MustCompile(`\b(?:peer|target|server-id|id|address|addr)=("[^"]*"|\S+)`)

// repeatKey is what makes two lines the same message: the text before
// the first key=value, and the peer named.
func repeatKey(line string) string {
	msg := line
	if i := strings.IndexByte(line, '='); i >= 0 {
		// Back to the start of the key ("backoff time=" is one key).
		if j := strings.LastIndex(line[:i], ": "); j >= 0 {
			msg = line[:j+1]
		}
	}
	var peers []string
	for _, m := range repeatKeyPeer.FindAllStringSubmatch(line, -1) {
		peers = append(peers, m[1])
	}
	return msg + " " + strings.Join(peers, " ")
}

// admit says whether to log line now (ok), and how many like it were held
// back since the last one logged, over how long (held > 0: log a summary).
func (f *repeatFilter) admit(line string) (held int, over time.Duration, ok bool) {
	k := repeatKey(line)
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.seen[k]
	switch {
	case r == nil:
		if len(f.seen) >= 1024 {
			// Bounded: the messages of long-gone peers go.
			for key, old := range f.seen {
				if now.Sub(old.start) >= repeatWindow {
					delete(f.seen, key)
				}
			}
		}
		f.seen[k] = &repeatRun{start: now}
		return 0, 0, true
	case now.Sub(r.start) < repeatWindow:
		r.held++
		return 0, 0, false
	}
	held, over = r.held, now.Sub(r.start)
	r.start, r.held = now, 0
	if over >= 2*repeatWindow {
		// The run ended a while ago: this line starts a new one, logged
		// as it is (the few held back at the end of the last are lost).
		return 0, 0, true
	}
	return held, over, true
}

var _ io.Writer = (*slogWriter)(nil)

// isSnapshotCatchUp matches raft's "failed to get log ... log not found"
// from its replication: the leader no longer holds the entry before a
// follower's next one and falls back to sending a snapshot. Where raft
// cannot go on without the entry it panics right after, with the error.
func isSnapshotCatchUp(line string) bool {
	return strings.Contains(line, "[ERROR]") && strings.Contains(line, "failed to get log") && strings.Contains(line, "log not found")
}
