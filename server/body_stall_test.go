package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
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
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "stalled") {
		t.Errorf("stalled body: %d %s", resp.StatusCode, body)
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
