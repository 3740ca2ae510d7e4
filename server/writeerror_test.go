package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A request whose caller went away (or that this server's shutdown ended)
// is not a failure of the server: nothing is logged above debug.
func TestWriteErrorCancelledIsNoError(t *testing.T) {
	var logs bytes.Buffer
	s := &Server{logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	rec := httptest.NewRecorder()
	s.writeError(rec, httptest.NewRequest(http.MethodGet, "/v1/client/nodes/n1/allocations", nil), fmt.Errorf("request cancelled: %w", context.Canceled))
	if rec.Code != http.StatusServiceUnavailable || logs.Len() != 0 {
		t.Errorf("cancelled: %d, logged %q", rec.Code, logs.String())
	}
	rec = httptest.NewRecorder()
	s.writeError(rec, httptest.NewRequest(http.MethodGet, "/v1/jobs", nil), errors.New("boom"))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(logs.String(), "request failed") {
		t.Errorf("internal error: %d, logged %q", rec.Code, logs.String())
	}
}
