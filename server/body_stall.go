package server

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/nai-project/nai/structs"
)

// DefaultBodyStallTimeout is how long a request body may make no progress
// before the request fails (Config.BodyStallTimeout).
const DefaultBodyStallTimeout = 60 * time.Second

// HTTPIdleTimeout is how long the agent's HTTP server keeps an idle
// keep-alive connection open.
const HTTPIdleTimeout = 2 * time.Minute

func (s *Server) bodyStallTimeout() time.Duration {
	if s.cfg.BodyStallTimeout > 0 {
		return s.cfg.BodyStallTimeout
	}
	return DefaultBodyStallTimeout
}

// guardBodies makes a request body that stops arriving fail: the
// connection's read deadline is set when the request comes in and pushed
// on after every read of the body that brought bytes, so a large upload
// that keeps moving takes as long as it needs, while one that sends
// nothing for the stall timeout ends (it held a connection, and a file
// descriptor, for as long as its sender liked). The deadline is cleared
// when the body ends, before anything (a long-poll) waits on the idle
// connection; after a failed read it stays passed, so that nothing more
// waits on that body. Every /v1/ route passes here first (Routes), forwarded or
// not.
func (s *Server) guardBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		b := &stallBody{ReadCloser: r.Body, rc: http.NewResponseController(w), d: s.bodyStallTimeout()}
		b.extend(time.Now())
		r.Body = b
		// A body the handler left unread (it refused the request) keeps
		// its deadline: net/http discards a little of it after the answer,
		// and waits no longer than the stall timeout for it. Cutting that
		// short would reset the connection while the sender still writes,
		// and it would never read the answer (a full disk, a quota).
		next.ServeHTTP(w, r)
	})
}

type stallBody struct {
	io.ReadCloser
	rc       *http.ResponseController
	d        time.Duration
	done     atomic.Bool
	extended time.Time
}

func (b *stallBody) Read(p []byte) (int, error) {
	if b.done.Load() {
		return b.ReadCloser.Read(p)
	}
	n, err := b.ReadCloser.Read(p)
	now := time.Now()
	switch {
	case err == io.EOF:
		b.done.Store(true)
		_ = b.rc.SetReadDeadline(time.Time{})
	case err != nil:
		// The deadline stays passed: net/http reads on (to discard the
		// rest of the body) once the handler answers, and must not wait.
		b.done.Store(true)
		_ = b.rc.SetReadDeadline(now)
		var ne net.Error
		if errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			err = structs.NewError(structs.CodeInvalid, "the request body stalled: nothing arrived for %s (a slow upload is fine while it keeps moving)", b.d)
		}
	case n > 0 && now.Sub(b.extended) > b.d/20:
		// Pushed on at most twenty times a stall period: a read that
		// brought bytes is progress.
		b.extend(now)
	}
	return n, err
}

func (b *stallBody) extend(now time.Time) {
	b.extended = now
	_ = b.rc.SetReadDeadline(now.Add(b.d))
}
