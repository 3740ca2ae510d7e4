package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nai-project/nai/sim"
)

var tinyTrace = filepath.Join("..", "..", "examples", "sim", "tiny.csv")

func TestSimFlags(t *testing.T) {
	noServer(t)
	base := []string{"sim", "-trace", tinyTrace, "-nodes", "1", "-gpus-per-node", "4"}
	bad := []struct {
		name string
		args []string
		want string
	}{
		{"negative seed", []string{"-limit-noise", "-1"}, "expected a seed of 0 or more"},
		{"noise and factor", []string{"-limit-noise", "1", "-limit-factor", "3"}, "use one"},
		{"unknown policy", []string{"-policy", "lifo"}, `unknown policy "lifo"`},
		{"warm-up too long", []string{"-warmup-jobs", "5"}, "warmup of 5 jobs is out of range"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, append(base, tc.args...)...)
			if code == 0 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want a failure saying %q", code, stderr, tc.want)
			}
		})
	}

	result := func(args ...string) sim.Result {
		t.Helper()
		code, stdout, stderr := runCLI(t, append(append(base, args...), "-json")...)
		if code != 0 {
			t.Fatalf("%v: exit %d, stderr %q", args, code, stderr)
		}
		var r sim.Result
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("%v: %v in %q", args, err, stdout)
		}
		return r
	}
	if r := result(); r.Policy != sim.DefaultPolicy {
		t.Errorf("without -policy the replay used %q, want %q", r.Policy, sim.DefaultPolicy)
	}
	if a, b := result("-limit-noise", "7", "-single-user"), result("-limit-noise", "7", "-single-user"); a != b {
		t.Errorf("the same seed replayed differently: %+v, %+v", a, b)
	}
	if r := result("-warmup-jobs", "2"); r.WarmupJobs != 2 {
		t.Errorf("warm-up %d, want 2", r.WarmupJobs)
	}

	code, stdout, stderr := runCLI(t, append(base, "-compare", "-json")...)
	if code != 0 {
		t.Fatalf("-compare: exit %d, stderr %q", code, stderr)
	}
	var c sim.Comparison
	if err := json.Unmarshal([]byte(stdout), &c); err != nil || c.Oracle == nil || c.EASY == nil || c.JCTVsOracle == 0 {
		t.Fatalf("-compare -json: %v, %+v", err, c)
	}
	code, stdout, _ = runCLI(t, append(base, "-compare")...)
	if code != 0 || !strings.Contains(stdout, "avg JCT vs sjf-oracle") || !strings.Contains(stdout, "p99 wait vs EASY backfill") {
		t.Errorf("-compare text: exit %d:\n%s", code, stdout)
	}
}
