package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

// An answer "no raft leader" (the server waited out an election) says
// quorum may be lost and how to look at a server without a leader.
func TestReportNoLeader(t *testing.T) {
	err := fmt.Errorf("list jobs: %w", structs.NewError(structs.CodeNotLeader, "no raft leader after 10s: the servers cannot elect one; quorum may be lost (is a majority of them up?)"))
	var b bytes.Buffer
	if code := report(context.Background(), &b, err); code != 1 {
		t.Errorf("exit status %d", code)
	}
	if out := b.String(); !strings.Contains(out, "nai operator raft list-peers -stale") || !strings.Contains(out, "Recovering from a lost quorum") {
		t.Errorf("output:\n%s", out)
	}
	// A write that met a leader change says nothing of quorum.
	b.Reset()
	report(context.Background(), &b, structs.NewError(structs.CodeNotLeader, "this server is not the raft leader (leader: ); nothing was written"))
	if strings.Contains(b.String(), "-stale") {
		t.Errorf("output:\n%s", b.String())
	}
}

// The advice to start a dev agent is given only where the CLI looked for
// one at the local default address, never for a configured cluster.
func TestReportUnreachableHint(t *testing.T) {
	t.Setenv("NAI_TOKEN", "")
	t.Setenv("NAI_TOKEN_FILE", t.TempDir()+"/none")
	dead := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return "http://" + l.Addr().String()
	}
	for _, addr := range []string{dead(), dead() + "," + dead()} {
		c, err := api.New(api.Config{Address: addr})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Jobs(context.Background(), true)
		var b bytes.Buffer
		report(context.Background(), &b, err)
		if out := b.String(); strings.Contains(out, "nai agent -dev") || !strings.Contains(out, "cannot reach nai agent") {
			t.Errorf("NAI_ADDR=%s:\n%s", addr, out)
		}
	}
}
