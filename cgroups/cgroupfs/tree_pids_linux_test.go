package cgroupfs

import (
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCapTreePids: the nai dir's pids.max leaves the host hostPidsReserve
// ids (a quarter of pid_max on a small host); a limit already set, or a
// hierarchy without pids.max, is left alone.
func TestCapTreePids(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		t.Skipf("no pid_max: %v", err)
	}
	pidMax, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	want := strconv.Itoa(pidMax - min(hostPidsReserve, pidMax/4))
	for _, tc := range []struct{ name, before, after string }{
		{"unlimited", "max\n", want},
		{"set by the operator", "5000\n", "5000\n"},
		{"no pids controller", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "pids.max")
			if tc.before != "" {
				if err := os.WriteFile(file, []byte(tc.before), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			CapTreePids(dir, slog.New(slog.DiscardHandler))
			got, err := os.ReadFile(file)
			if tc.before == "" {
				if !os.IsNotExist(err) {
					t.Fatalf("pids.max made where there was none: %q, %v", got, err)
				}
				return
			}
			if string(got) != tc.after {
				t.Fatalf("pids.max %q, want %q", got, tc.after)
			}
		})
	}
}
