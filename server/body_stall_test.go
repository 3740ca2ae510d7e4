package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

// TestBodyStall: a request body that stops arriving fails after the stall
// timeout (a red-team walkthrough held 5,000 connections open with bodies
// that never came), while an upload that keeps moving, slowly, for longer
// than that timeout in all, is stored.
func TestBodyStall(t *testing.T) {
	const stall = 300 * time.Millisecond
	_, c := testServer(t, t.TempDir(), func(cfg *Config) { cfg.BodyStallTimeout = stall })
	addr := strings.TrimPrefix(c.Address(), "http://")

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT /v1/blobs HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nonly a few bytes")
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body within 10s (%v): the connection is held", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("answered after %s", took)
	}
	checkStallAnswer(t, "raw PUT /v1/blobs", resp, body)
	if _, err := conn.Read(make([]byte, 1)); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Errorf("the connection of a stalled body stayed open after the answer: %v", err)
	}

	// An HTTP client that sends part of a body and then stops sending,
	// to a route that streams the body (PUT /v1/blobs) and to one that
	// decodes JSON (PUT /v1/jobs): both get the 408.
	for _, path := range []string{"/v1/blobs", "/v1/jobs"} {
		resp, body := stalledClientRequest(t, c.Address()+path)
		checkStallAnswer(t, "client PUT "+path, resp, body)
	}

	// A body the door refuses unread (no token needed here: an unknown
	// route) must not hold the connection either.
	conn2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	fmt.Fprintf(conn2, "PUT /v1/no-such-route HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly a few bytes")
	_ = conn2.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp2, err := http.ReadResponse(bufio.NewReader(conn2), nil)
	if err != nil {
		t.Fatalf("no answer to a refused stalled body within 10s: %v", err)
	}
	resp2.Body.Close()
	if _, err := conn2.Read(make([]byte, 1)); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Errorf("the connection of a refused stalled body stayed open: %v", err)
	}

	// The audit log records the answer sent, not the handler's.
	waitUntil(t, "the audit log holds the stalled writes", func() bool {
		events, err := c.Audit(context.Background(), api.AuditFilter{})
		if err != nil {
			return false
		}
		n := 0
		for _, e := range events {
			if strings.Contains(e.Error, "stalled") {
				if e.Status != http.StatusRequestTimeout {
					t.Fatalf("audit: %s %s answered 408, recorded %d", e.Method, e.Path, e.Status)
				}
				n++
			}
		}
		return n == 3
	})

	// Slow but moving: 12 pieces, 100ms apart (1.2s in all, four stall
	// periods).
	pr, pw := io.Pipe()
	go func() {
		for i := range 12 {
			time.Sleep(100 * time.Millisecond)
			fmt.Fprintf(pw, "piece %d;", i)
		}
		pw.Close()
	}()
	info, err := c.UploadBlob(context.Background(), pr)
	if err != nil {
		t.Fatalf("a slow upload that kept moving: %v", err)
	}
	var want bytes.Buffer
	for i := range 12 {
		fmt.Fprintf(&want, "piece %d;", i)
	}
	if info.Size != int64(want.Len()) {
		t.Errorf("stored %d bytes, want %d", info.Size, want.Len())
	}
}

// stalledClientRequest PUTs a body of which only a few bytes ever come,
// with net/http's client, and returns the answer.
func stalledClientRequest(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	pr, pw := io.Pipe()
	defer pw.Close() // the body ends only once the answer is in
	go func() { _, _ = pw.Write([]byte(`{"name": "x`)) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 1 << 20
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT %s with a stalled body: no answer: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// checkStallAnswer: a stalled body is answered 408 Request Timeout with
// the usual coded JSON error, and the connection closes.
func checkStallAnswer(t *testing.T, what string, resp *http.Response, body []byte) {
	t.Helper()
	var eb structs.ErrorBody
	if resp.StatusCode != http.StatusRequestTimeout || json.Unmarshal(body, &eb) != nil || eb.Error == nil ||
		eb.Error.Code != structs.CodeInvalid || !strings.Contains(eb.Error.Message, "the request body stalled: nothing arrived for") {
		t.Errorf("%s: stalled body answered %d %s, want 408 with a coded error saying it stalled", what, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	if !resp.Close {
		t.Errorf("%s: answer without Connection: close", what)
	}
}

// TestBodyStallForwarded: a follower that streams a body on to the leader
// (too large to hold for a retry, or chunked) answers 408 when the body
// stalls, rather than the empty 200 net/http sent for the proxy, which
// wrote nothing once the stalled read had ended the request's context.
func TestBodyStallForwarded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two raft servers")
	}
	stall := func(c *Config) { c.BodyStallTimeout = 300 * time.Millisecond }
	a := startMember(t, "a", 2, time.Hour, "", stall)
	b := startMember(t, "b", 2, time.Hour, a.m.Addr(), stall)
	all := []*member{a, b}
	waitLong(t, "two servers in raft under a leader", func() bool {
		servers, ok := leaderRaft(all)
		return ok && len(servers) == 2
	})
	follower := a
	if leaderOf(all) == a {
		follower = b
	}
	addr := strings.TrimPrefix(follower.api.Address(), "http://")
	for _, tt := range []struct{ name, header, body string }{
		{"larger than a replayed body", fmt.Sprintf("Content-Length: %d", maxReplay+1), `{"a`},
		{"chunked", "Transfer-Encoding: chunked", "3\r\n{\"a\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "PUT /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%s\r\n\r\n%s", tt.header, tt.body)
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer to a stalled forwarded body: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			checkStallAnswer(t, tt.name, resp, body)
		})
	}
}
