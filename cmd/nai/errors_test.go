package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

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
