package server

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

func TestClaimDataDir(t *testing.T) {
	cases := []struct {
		name     string
		recorded *string // nil: no file
		start    string
		wantErr  string
		wantFile string
	}{
		{name: "new data dir", start: "s2", wantFile: "s2\n"},
		{name: "data dir of an earlier version is adopted", recorded: ptr(""), start: "s2", wantFile: "s2\n"},
		{name: "same name", recorded: ptr("s2\n"), start: "s2", wantFile: "s2\n"},
		{name: "another name", recorded: ptr("s2\n"), start: "s2b", wantFile: "s2\n",
			wantErr: `belongs to the server "s2" (recorded in`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "server")
			file := filepath.Join(dir, nodeNameFile)
			if tc.recorded != nil {
				os.MkdirAll(dir, 0o700)
				os.WriteFile(file, []byte(*tc.recorded), 0o600)
			}
			err := claimDataDir(dir, tc.start)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("claim: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), `not to "`+tc.start+`"`)) {
				t.Fatalf("claim: %v, want %q naming both names", err, tc.wantErr)
			}
			if got, _ := os.ReadFile(file); string(got) != tc.wantFile {
				t.Errorf("%s holds %q, want %q", nodeNameFile, got, tc.wantFile)
			}
		})
	}
}

// A server restarted on its data dir under another node name is refused
// before raft opens anything.
func TestServerRefusesAnotherNodesDataDir(t *testing.T) {
	dir := t.TempDir()
	s := startLeader(t, Config{DataDir: dir, NodeName: "s2", Bootstrap: true, Logger: clusterLogger(t, "s2")})
	s.Shutdown()
	if _, err := New(Config{DataDir: dir, NodeName: "s2b", Logger: clusterLogger(t, "s2b")}); err == nil ||
		!strings.Contains(err.Error(), `belongs to the server "s2"`) || !strings.Contains(err.Error(), `not to "s2b"`) {
		t.Fatalf("New under another name: %v", err)
	}
	s = startLeader(t, Config{DataDir: dir, NodeName: "s2", Bootstrap: true, Logger: clusterLogger(t, "s2")})
	s.Shutdown()
}

func ptr(s string) *string { return &s }

// A raft log another process holds (bolt's flock) is an error after a
// few seconds, where bolt waited for its lock for ever and the agent hung
// saying nothing.
func TestRaftLogHeldElsewhere(t *testing.T) {
	dir := t.TempDir()
	raftDir := filepath.Join(dir, "raft")
	if err := os.MkdirAll(raftDir, 0o700); err != nil {
		t.Fatal(err)
	}
	// Another open file of raft.db holds bolt's lock: flock locks of two
	// open files conflict in one process as between two.
	other, err := bbolt.Open(filepath.Join(raftDir, "raft.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	old := raftLogLockTimeout
	raftLogLockTimeout = 200 * time.Millisecond
	defer func() { raftLogLockTimeout = old }()

	done := make(chan error, 1)
	go func() {
		s, err := New(Config{DataDir: dir, NodeName: "test", Bootstrap: true, Logger: slog.New(slog.DiscardHandler)})
		if err == nil {
			s.Shutdown()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "another process holds it") {
			t.Fatalf("New: %v, want an error saying another process holds raft.db", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("New still waits for raft.db's lock after 10s")
	}
}
