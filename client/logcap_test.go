package client

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/nai-project/nai/structs"
)

// TestLogCap (red team M3): a job that writes far past the node's log cap
// leaves a log of the cap's size and one marker line, on stdout and
// stderr, whether it writes while it runs or just before it ends; a cap
// of -1 (log_max = "0") keeps everything.
func TestLogCap(t *testing.T) {
	const limit = 4096
	marker := logCapMarker(limit)
	for _, tc := range []struct {
		name   string
		limit  int64
		script string
		want   int64 // size of each log
	}{
		{"while it runs", limit, `for i in $(seq 1 15); do head -c 20000 /dev/zero | tr '\0' o; head -c 20000 /dev/zero | tr '\0' e >&2; sleep 0.1; done`, limit + int64(len(marker))},
		{"just before it ends", limit, `head -c 300000 /dev/zero | tr '\0' o; head -c 300000 /dev/zero | tr '\0' e >&2`, limit + int64(len(marker))},
		{"no cap", -1, `head -c 30000 /dev/zero | tr '\0' o; head -c 30000 /dev/zero | tr '\0' e >&2`, 30000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServers(t)
			c := newTestClient(t, f, t.TempDir(), testCgroups(t))
			c.cfg.LogMaxBytes = tc.limit
			runClient(t, c)
			a := newAlloc(c, scriptJob("logs", tc.script))
			f.put(a)
			waitFor(t, terminalWait, "the final report", func() bool { return f.terminal(a.ID) })
			if st := f.status(a.ID); st.Status != structs.AllocComplete {
				t.Fatalf("job %s: %s", st.Status, st.Message)
			}
			dir := allocDir(filepath.Join(c.allocsDir(), a.ID))
			for _, s := range []string{"stdout", "stderr"} {
				b, err := os.ReadFile(dir.logPath(s))
				if err != nil {
					t.Fatal(err)
				}
				if int64(len(b)) != tc.want {
					t.Errorf("%s is %d bytes, want %d", s, len(b), tc.want)
				}
				if tc.limit > 0 && !bytes.HasSuffix(b, marker) {
					t.Errorf("%s does not end with the marker: ...%q", s, b[max(0, len(b)-100):])
				}
			}
		})
	}
}
