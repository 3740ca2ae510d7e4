package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/internal/testtool"
)

// phillyTrace returns the shared trace's path and its number of jobs, or
// skips the figure when the trace is not there (a clone without the shared
// directory).
func phillyTrace(t *testing.T) (string, int) {
	t.Helper()
	p := testtool.PhillyTrace(t)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := -1 // the header
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return p, n
}

// simResult is the part of `nai sim -json` the figures read.
type simResult struct {
	Jobs    int     `json:"jobs"`
	AvgJCT  float64 `json:"avg_jct_s"`
	P99Wait float64 `json:"p99_wait_s"`
}

// simComparison is `nai sim -compare -json`.
type simComparison struct {
	Policy        simResult `json:"policy"`
	JCTVsOracle   float64   `json:"avg_jct_vs_oracle"`
	P99WaitVsEASY float64   `json:"p99_wait_vs_easy"`
}

// benchSim replays the shared Philly trace with `nai sim`, the CLI as it
// ships:
//   - every policy on the trace's own pool (80 nodes x 8 GPUs), each timed
//     (target: 3 s or less, wall clock);
//   - the scheduling quality of the live default on the held-out second
//     half of the trace (the first half tuned its weights, BENCH.md): its
//     average job completion time over the shortest-job-first oracle's
//     (target: 1.2x or less) and its p99 wait over EASY backfill's (no
//     worse), in both settings of the issue (the trace's users with limits
//     twice the run time; one user with the limits users guess, noise seed
//     1), on the trace's pool and on a loaded one (64 x 8).
func benchSim(t *testing.T, b *bench) {
	trace, n := phillyTrace(t)
	ctx := context.Background()

	load := startLoad()
	var parts []string
	slowest := time.Duration(0)
	for _, policy := range []string{"default", "fifo", "priority", "backfill", "priority-backfill", "sjf-oracle"} {
		wall, cpu, out, err := timedRun(ctx, naiCmd("", "sim", "-trace", trace, "-policy", policy, "-json"))
		if err != nil {
			t.Fatal(err)
		}
		var r simResult
		if err := json.Unmarshal(out, &r); err != nil || r.Jobs != n {
			t.Fatalf("nai sim -policy %s: %d jobs of %d (%v): %s", policy, r.Jobs, n, err, out)
		}
		slowest = max(slowest, wall)
		parts = append(parts, fmt.Sprintf("%s %.2f s (CPU %.2f)", policy, wall.Seconds(), cpu.Seconds()))
	}
	b.rep.add(benchRow{
		figure: fmt.Sprintf("nai sim of the Philly trace (%d jobs, 80 x 8 GPUs), each policy: wall (CPU)", n),
		target: "<= 3 s", nai: strings.Join(parts, ", "), met: yesNo(slowest <= 3*time.Second), load: load.String(),
	})

	for _, setting := range []struct {
		name string
		args []string
	}{
		{"the trace's users, limits 2x the run time", nil},
		{"one user, limits users guess (x U[1,5], seed 1)", []string{"-single-user", "-limit-noise", "1"}},
	} {
		load := startLoad()
		var parts []string
		met := true
		for _, nodes := range []int{80, 64} {
			args := append([]string{"sim", "-trace", trace, "-nodes", fmt.Sprint(nodes),
				"-warmup-jobs", fmt.Sprint(n / 2), "-compare", "-json"}, setting.args...)
			_, _, out, err := timedRun(ctx, naiCmd("", args...))
			if err != nil {
				t.Fatal(err)
			}
			var c simComparison
			if err := json.Unmarshal(out, &c); err != nil || c.JCTVsOracle <= 0 || c.P99WaitVsEASY <= 0 {
				t.Fatalf("nai %s: %v: %s", strings.Join(args, " "), err, out)
			}
			met = met && c.JCTVsOracle <= 1.2 && c.P99WaitVsEASY <= 1
			parts = append(parts, fmt.Sprintf("%dx8: avg JCT %.3fx the oracle's (%.0f s), p99 wait %.2fx EASY's",
				nodes, c.JCTVsOracle, c.Policy.AvgJCT, c.P99WaitVsEASY))
		}
		b.rep.add(benchRow{
			figure: fmt.Sprintf("scheduling quality, default policy, held-out second half (%d jobs): %s", n-n/2, setting.name),
			target: "<= 1.2x SJF oracle's avg JCT, p99 wait <= EASY's", nai: strings.Join(parts, "; "),
			met: yesNo(met), load: load.String(),
		})
	}
}
