package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/structs"
)

// formatArrayStatus prints a sweep the way squeue folds job arrays: one
// line per state with the members' numbers (ArrayTask: Slurm task ids, or
// indices) in ranges (12_[0-3,5]), then
// every member with its values, state, node and reason.
func formatArrayStatus(w io.Writer, members []*structs.Job, now time.Time) error {
	if len(members) == 0 {
		return fmt.Errorf("the array has no members")
	}
	arrayID := members[0].ArrayID
	byState := map[structs.JobStatus][]int{}
	for _, m := range members {
		byState[m.Status] = append(byState[m.Status], m.ArrayTask())
	}
	var parts []string
	order := []structs.JobStatus{structs.JobRunning, structs.JobPending, structs.JobComplete, structs.JobFailed, structs.JobCancelled, structs.JobLost}
	for _, st := range order {
		if n := len(byState[st]); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, st))
		}
	}
	fmt.Fprintf(w, "Array %s (%s): %s, %s\n", arrayID, members[0].Name, plural(len(members), "job"), strings.Join(parts, ", "))
	if p := members[0].MaxParallel; p > 0 {
		fmt.Fprintf(w, "At most %d run at once\n", p)
	}
	fmt.Fprintln(w)
	// One line per state, the states aligned: 12_[0-3,5] as squeue folds
	// members, 12_4 for a member alone.
	type stateLine struct {
		ref string
		st  structs.JobStatus
	}
	var lines []stateLine
	width := 0
	for _, st := range order {
		if idx := byState[st]; len(idx) > 0 {
			slices.Sort(idx)
			ref := fmt.Sprintf("%s_[%s]", arrayID, jobtext.Ranges(idx))
			if len(idx) == 1 {
				ref = fmt.Sprintf("%s_%d", arrayID, idx[0])
			}
			lines = append(lines, stateLine{ref, st})
			width = max(width, len(ref))
		}
	}
	for _, l := range lines {
		fmt.Fprintf(w, "%-*s  %s\n", width, l.ref, l.st)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tID\tVALUES\tSTATE\tNODE\tGPUS\tREASON")
	for _, m := range members {
		keys := slices.Sorted(maps.Keys(m.SweepValues))
		vals := make([]string, 0, len(keys))
		for _, k := range keys {
			vals = append(vals, k+"="+jobtext.Printable(m.SweepValues[k])) // values are the sweep's author's
		}
		node, gpus := "-", gpuList(m.GPUs)
		if m.NodeName != "" {
			node = m.NodeName
		}
		reason := jobtext.Printable(m.Reason)
		switch {
		case m.Status.Terminal() && m.ExitCode != nil:
			reason = fmt.Sprintf("exit code %d", *m.ExitCode)
		case m.Status.Terminal() && m.ExitReason != "":
			reason = string(m.ExitReason)
		}
		if reason == "" {
			reason = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.ArrayRef(), m.ID, strings.Join(vals, " "), m.Status, node, gpus, reason)
	}
	return tw.Flush()
}
