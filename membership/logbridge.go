package membership

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync"
)

// logBridge receives the standard-library log lines of serf and memberlist
// ("[WARN] memberlist: ...") and turns them into slog records at the
// matching level; their INFO lines become debug, as Membership logs each
// member event itself. Lines that reveal an operator problem (a key mismatch, a
// duplicate name) are also recorded in problems, because those libraries
// say so only in their logs.
type logBridge struct {
	logger   *slog.Logger
	problems *Problems
	mu       sync.Mutex
	buf      []byte
}

func (b *logBridge) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	for {
		i := bytes.IndexByte(b.buf, '\n')
		if i < 0 {
			break
		}
		b.line(string(b.buf[:i]))
		b.buf = b.buf[i+1:]
	}
	return len(p), nil
}

func (b *logBridge) line(s string) {
	level := slog.LevelInfo
	for _, l := range []struct {
		prefix string
		level  slog.Level
	}{{"[DEBUG]", slog.LevelDebug}, {"[INFO]", slog.LevelDebug}, {"[WARN]", slog.LevelWarn}, {"[ERR]", slog.LevelError}} {
		if i := strings.Index(s, l.prefix); i >= 0 {
			level = l.level
			s = strings.TrimSpace(s[i+len(l.prefix):])
			break
		}
	}
	if kind, msg := classify(s); kind != "" {
		b.problems.Report(kind, msg)
		if level < slog.LevelWarn {
			level = slog.LevelWarn
		}
	}
	b.logger.Log(context.Background(), level, s)
}

// classify names the operator problem a serf or memberlist message (or a
// join error) reveals, with advice; "" when it is routine.
// addrPort is an IPv4 or bracketed IPv6 address with its port.
var addrPort = regexp.MustCompile(`(\b\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):\d+\b`)

func classify(s string) (kind, msg string) {
	switch {
	case strings.Contains(s, "No installed keys could decrypt"),
		strings.Contains(s, "encryption is not configured"),
		strings.Contains(s, "Encryption is configured but remote state is not encrypted"),
		strings.Contains(s, "message authentication failed"):
		// Without the peer's port: each connection comes from another
		// one, and one peer is one problem.
		return ProblemEncrypt, "gossip encryption does not match a peer's (" + addrPort.ReplaceAllString(s, "$1") + "): every agent needs the same `encrypt` key"
	case strings.Contains(s, "Node name conflicts with another node"),
		strings.Contains(s, "Conflicting address for"),
		strings.Contains(s, "Name conflict for"):
		return ProblemNameConflict, "two agents use the same node name (" + s + "): give each agent a unique node_name"
	case strings.Contains(s, "minority in name conflict resolution"):
		return ProblemStopped, "serf stopped: another agent with this node name won the name conflict; give this agent a unique node_name and restart it"
	}
	return "", ""
}
