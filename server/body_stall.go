package server

import (
	"encoding/json"
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
		sw := &stallWriter{ResponseWriter: w, body: b}
		// A body the handler left unread (it refused the request) keeps
		// its deadline: net/http discards a little of it after the answer,
		// and waits no longer than the stall timeout for it. Cutting that
		// short would reset the connection while the sender still writes,
		// and it would never read the answer (a full disk, a quota).
		next.ServeHTTP(sw, r)
		// A handler that answered nothing after its body stalled (the
		// forwarding proxy, whose request context ended with the read)
		// would leave net/http to send an empty 200.
		if b.stalled.Load() {
			sw.answerStall()
		}
	})
}

// stallWriter answers a request whose body stalled, before the handler
// wrote anything, with 408 Request Timeout and closes the connection, as
// net/http does for its own timeouts: whatever the handler makes of the
// failed read (a 400, or nothing) is replaced. Once the handler has
// written, its answer stands.
type stallWriter struct {
	http.ResponseWriter
	body     *stallBody
	wrote    bool // the handler's answer (or ours) has begun
	replaced bool // ours was sent: the handler's writes go nowhere
}

func (w *stallWriter) WriteHeader(code int) {
	if w.wrote {
		if !w.replaced {
			w.ResponseWriter.WriteHeader(code)
		}
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code) // informational: not the answer
		return
	}
	if w.body.stalled.Load() {
		w.answerStall()
		return
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *stallWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.replaced {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// Flush lets streams (logs, the forwarding proxy) through as they are
// written.
func (w *stallWriter) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.replaced {
		return
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController the real writer (deadlines,
// hijacking).
func (w *stallWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// answerStall sends the 408, unless an answer has begun.
func (w *stallWriter) answerStall() {
	if w.wrote {
		return
	}
	w.wrote, w.replaced = true, true
	w.body.answered.Store(true)
	h := w.ResponseWriter.Header()
	h.Del("Content-Length")
	h.Set("Content-Type", "application/json")
	h.Set("Connection", "close")
	w.ResponseWriter.WriteHeader(http.StatusRequestTimeout)
	_ = json.NewEncoder(w.ResponseWriter).Encode(structs.ErrorBody{Error: w.body.stallError()})
}

type stallBody struct {
	io.ReadCloser
	rc       *http.ResponseController
	d        time.Duration
	done     atomic.Bool
	stalled  atomic.Bool // a read failed at the stall deadline
	answered atomic.Bool // and the 408 was sent (stallWriter)
	extended time.Time
}

// stallError says what happened to a body that stalled.
func (b *stallBody) stallError() *structs.Error {
	return structs.NewError(structs.CodeInvalid, "the request body stalled: nothing arrived for %s (a slow upload is fine while it keeps moving)", b.d)
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
			b.stalled.Store(true)
			err = b.stallError()
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
