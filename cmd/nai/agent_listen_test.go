//go:build !nai_cli

package main

import (
	"net"
	"strings"
	"testing"
)

func TestCheckLocalAddress(t *testing.T) {
	cases := []struct{ ip, wantErr string }{
		{"127.0.0.1", ""},
		// Linux answers every address of 127.0.0.0/8 on lo.
		{"127.0.0.51", ""},
		{"::1", ""},
		{"0.0.0.0", ""},
		{"::", ""},
		{"203.0.113.77", "bind_addr 203.0.113.77 is not an address of this host (it has "},
	}
	for _, tc := range cases {
		err := checkLocalAddress("bind_addr", tc.ip)
		if tc.wantErr == "" && err != nil {
			t.Errorf("%s: %v", tc.ip, err)
		}
		if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "127.0.0.1")) {
			t.Errorf("%s: %v, want %q listing the host's addresses", tc.ip, err, tc.wantErr)
		}
	}
}

func TestListenHint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = net.Listen("tcp", ln.Addr().String())
	if got := listenHint("ports.http", ln.Addr().String(), err); !strings.Contains(got, "another program (another agent?) listens on") || !strings.Contains(got, "choose another ports.http") {
		t.Errorf("hint for a port in use: %q", got)
	}
	_, err = net.Listen("tcp", "203.0.113.77:0")
	if got := listenHint("ports.http", "203.0.113.77:0", err); got != "203.0.113.77:0 is not an address of this host" {
		t.Errorf("hint for an address the host lacks (%v): %q", err, got)
	}
}
