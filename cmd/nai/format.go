package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nai-project/nai/structs"
)

// The formatters in this package take "now" as an argument and read no
// clock, so their output is fixed for fixed input (golden tests).

// shortID is the first 8 characters of a long id (node ids are UUIDs).
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// clock formats a duration the way squeue's TIME column does:
// M:SS, H:MM:SS, or D-HH:MM:SS.
func clock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	days, s := s/86400, s%86400
	h, s := s/3600, s%3600
	m, s := s/60, s%60
	switch {
	case days > 0:
		return fmt.Sprintf("%d-%02d:%02d:%02d", days, h, m, s)
	case h > 0:
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

// human formats a duration for sentences, to the second below an hour,
// to the minute below a day, else to the hour: "42s", "5m3s", "2h5m", "3d4h".
func human(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	two := func(a int64, ua string, b int64, ub string) string {
		if b == 0 {
			return fmt.Sprintf("%d%s", a, ua)
		}
		return fmt.Sprintf("%d%s%d%s", a, ua, b, ub)
	}
	switch s := int64(d.Round(time.Second) / time.Second); {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return two(s/60, "m", s%60, "s")
	case s < 86400:
		m := (s + 30) / 60
		return two(m/60, "h", m%60, "m")
	default:
		h := (s + 1800) / 3600
		return two(h/24, "d", h%24, "h")
	}
}

// stamp is a time in now's location with how long ago (or ahead) it is.
func stamp(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	s := t.In(now.Location()).Format(time.RFC3339)
	if d := now.Sub(t); d < 0 {
		return s + " (in " + human(-d) + ")"
	}
	return s + " (" + human(now.Sub(t)) + " ago)"
}

// shortTime is a compact time for table cells: "15:04" today, else with
// the date.
func shortTime(t, now time.Time) string {
	t = t.In(now.Location())
	ny, nm, nd := now.Date()
	y, m, d := t.Date()
	switch {
	case y == ny && m == nm && d == nd:
		return t.Format("15:04")
	case y == ny:
		return t.Format("Jan 2 15:04")
	}
	return t.Format("2006-01-02 15:04")
}

func gpuList(gpus []int) string {
	if len(gpus) == 0 {
		return "-"
	}
	s := make([]string, len(gpus))
	for i, g := range gpus {
		s[i] = strconv.Itoa(g)
	}
	return strings.Join(s, ",")
}

// ranges folds sorted-or-not indices into "0-3,5,7-8".
func ranges(idx []int) string {
	idx = slices.Clone(idx)
	slices.Sort(idx)
	idx = slices.Compact(idx)
	var parts []string
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(idx[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", idx[i], idx[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// nodeLabel names the node a job runs on, by name when the server gave one.
func nodeLabel(j *structs.Job) string {
	switch {
	case j.NodeName != "":
		return j.NodeName
	case j.NodeID != "":
		return shortID(j.NodeID)
	}
	return "-"
}

// gpuRequest is the GPUS cell: the count per node, "NxG" for a gang.
func gpuRequest(r structs.Resources) string {
	if r.Nodes > 1 {
		return fmt.Sprintf("%dx%d", r.Nodes, r.GPU.Count)
	}
	return strconv.Itoa(r.GPU.Count)
}

// exitSummary says how a finished job ended: "exit code 3",
// "oom-killed (exit code 137)", "cancelled", or the server's reason.
func exitSummary(j *structs.Job) string {
	code := ""
	if j.ExitCode != nil {
		code = fmt.Sprintf("exit code %d", *j.ExitCode)
	}
	switch {
	case j.ExitReason == "" || j.ExitReason == structs.ExitExited:
		if code != "" {
			return code
		}
	case code != "":
		return fmt.Sprintf("%s (%s)", j.ExitReason, code)
	default:
		return string(j.ExitReason)
	}
	return j.Reason
}

// runtime is how long the job has run (so far, or in all).
func runtime(j *structs.Job, now time.Time) (time.Duration, bool) {
	switch {
	case j.StartTime.IsZero():
		return 0, false
	case !j.EndTime.IsZero():
		return j.EndTime.Sub(j.StartTime), true
	case j.Status == structs.JobRunning:
		return now.Sub(j.StartTime), true
	}
	return 0, false
}

// jobExitCode is what `nai job run` exits with once the job has ended.
func jobExitCode(j *structs.Job) int {
	switch j.Status {
	case structs.JobComplete:
		return 0
	case structs.JobFailed:
		if j.ExitCode != nil && *j.ExitCode > 0 && *j.ExitCode < 256 {
			return *j.ExitCode
		}
	}
	return 1
}

// plural is "1 file", "3 files".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// gpuUse is the USED and UTIL cells of a GPU: the holding job's latest
// sample, "-" when no job holds it.
func gpuUse(g structs.GPU) (used, util string) {
	if g.AllocID == "" {
		return "-", "-"
	}
	return structs.FormatSize(g.MemoryUsedBytes), fmt.Sprintf("%d%%", g.UtilizationPercent)
}

// formatGPUUsage prints what the GPUs of an allocation did, when its node
// sampled them.
func formatGPUUsage(w io.Writer, a *structs.Allocation) error {
	if len(a.ClientStatus.GPUUsage) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nGPU usage (attempt %d)\n", a.Attempt)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GPU\tUTIL\tMEAN UTIL\tMEMORY\tPEAK MEMORY")
	for _, u := range a.ClientStatus.GPUUsage {
		fmt.Fprintf(tw, "%d\t%d%%\t%s%%\t%s\t%s\n", u.Index, u.UtilizationPercent,
			strconv.FormatFloat(u.MeanUtilization, 'f', 1, 64), structs.FormatSize(u.MemoryUsedBytes), structs.FormatSize(u.PeakMemoryBytes))
	}
	return tw.Flush()
}
