package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nai-project/nai/structs"
)

// The formatters in this package take "now" as an argument and read no
// clock, so their output is fixed for fixed input (golden tests).

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

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

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
