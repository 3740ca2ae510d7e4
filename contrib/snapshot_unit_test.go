package contrib

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The command of nai-snapshot.service, with systemd's escapes resolved
// ($$ and %%), run as systemd would run it against a dev agent: it saves a
// snapshot that `nai operator snapshot inspect` accepts into
// $STATE_DIRECTORY, and deletes the snapshots older than the days kept.
func TestSnapshotUnitRuns(t *testing.T) {
	nai := naiBinary(t)
	got := unitSettings(t, "systemd/nai-snapshot.service")
	if v := got["Service.Type"]; len(v) != 1 || v[0] != "oneshot" {
		t.Errorf("Type = %q, want oneshot", v)
	}
	exec1 := got["Service.ExecStart"]
	if len(exec1) != 1 {
		t.Fatalf("ExecStart = %q, want one", exec1)
	}
	line := strings.NewReplacer("$$", "$", "%%", "%").Replace(exec1[0])
	const prefix = "/bin/sh -ec '"
	if !strings.HasPrefix(line, prefix) || !strings.HasSuffix(line, "'") {
		t.Fatalf("ExecStart %q: want /bin/sh -ec '...'", exec1[0])
	}
	script := strings.TrimSuffix(strings.TrimPrefix(line, prefix), "'")
	if !strings.Contains(script, "/usr/bin/nai ") {
		t.Fatalf("the script does not run /usr/bin/nai: %q", script)
	}
	script = strings.ReplaceAll(script, "/usr/bin/nai ", nai+" ")

	// A dev agent to back up.
	agent := exec.Command(nai, "agent", "-dev", "-http-addr", "127.0.0.1:0", "-data-dir", t.TempDir(), "-dev-gpus", "1")
	agent.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := agent.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = agent.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = agent.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = agent.Process.Kill()
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "http:" {
				select {
				case addr <- f[1]:
				default:
				}
			}
		}
	}()
	var http string
	select {
	case http = <-addr:
	case <-time.After(60 * time.Second):
		t.Fatal("the dev agent did not start")
	}

	dir := t.TempDir()
	old := filepath.Join(dir, "nai-20000101T000000Z.snap")
	recent := filepath.Join(dir, "nai-20000102T000000Z.snap")
	for f, age := range map[string]time.Duration{old: 20 * 24 * time.Hour, recent: 3 * 24 * time.Hour} {
		if err := os.WriteFile(f, []byte("old"), 0o600); err != nil {
			t.Fatal(err)
		}
		when := time.Now().Add(-age)
		if err := os.Chtimes(f, when, when); err != nil {
			t.Fatal(err)
		}
	}
	var out []byte
	for range 50 { // the agent elects itself in well under a second
		sh := exec.Command("/bin/sh", "-ec", script)
		sh.Env = append(os.Environ(), "STATE_DIRECTORY="+dir, "NAI_ADDR="+http, "NAI_TOKEN_FILE="+filepath.Join(dir, "no-token"))
		if out, err = sh.CombinedOutput(); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("the unit's command failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the 20-day-old snapshot is still there (%v)", err)
	}
	if _, err := os.Stat(recent); err != nil {
		t.Errorf("the 3-day-old snapshot was deleted: %v", err)
	}
	saved, _ := filepath.Glob(filepath.Join(dir, "nai-2*.snap"))
	var fresh string
	for _, f := range saved {
		if f != old && f != recent {
			fresh = f
		}
	}
	if fresh == "" {
		t.Fatalf("no new snapshot in %s: %v", dir, saved)
	}
	if out, err := exec.Command(nai, "operator", "snapshot", "inspect", fresh).CombinedOutput(); err != nil {
		t.Errorf("inspect %s: %v\n%s", fresh, err, out)
	}
}
