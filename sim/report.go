package sim

import (
	"fmt"
	"io"
)

// WriteText prints a result for people, one figure per line.
func WriteText(w io.Writer, r *Result) {
	fmt.Fprintf(w, "policy                %s\n", r.Policy)
	fmt.Fprintf(w, "cluster               %d nodes x %d GPUs\n", r.Nodes, r.GPUsPerNode)
	fmt.Fprintf(w, "jobs                  %d (%d never fitted)\n", r.Jobs, r.Unschedulable)
	if r.WarmupJobs > 0 {
		fmt.Fprintf(w, "warm-up jobs          %d (not in the figures below but makespan and utilisation)\n", r.WarmupJobs)
	}
	fmt.Fprintf(w, "wait avg/p50/p99      %.1f / %.1f / %.1f s\n", r.AvgWait, r.P50Wait, r.P99Wait)
	fmt.Fprintf(w, "job completion avg    %.1f s\n", r.AvgJCT)
	fmt.Fprintf(w, "bounded slowdown avg  %.3f (threshold %.0f s)\n", r.AvgBoundedSlowdown, BoundedSlowdownThreshold)
	fmt.Fprintf(w, "makespan              %.1f s\n", r.Makespan)
	fmt.Fprintf(w, "GPU utilisation       %.2f%%\n", 100*r.GPUUtilization)
	fmt.Fprintf(w, "scheduler passes      %d\n", r.Passes)
}

// WriteComparison prints a comparison: the three reports, then the ratios.
func WriteComparison(w io.Writer, c *Comparison) {
	for _, r := range []*Result{c.Policy, c.Oracle, c.EASY} {
		WriteText(w, r)
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%-26s %.3fx (%.1f / %.1f s)\n", "avg JCT vs "+OraclePolicy, c.JCTVsOracle, c.Policy.AvgJCT, c.Oracle.AvgJCT)
	fmt.Fprintf(w, "%-26s %.3fx (%.1f / %.1f s)\n", "p99 wait vs EASY backfill", c.P99WaitVsEASY, c.Policy.P99Wait, c.EASY.P99Wait)
}
