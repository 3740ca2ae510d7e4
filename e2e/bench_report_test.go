package e2e

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// benchReport gathers the figures of one `make bench` run: one row per
// figure, with Slurm's value beside nai's when NAI_BENCH_SLURM=1 set Slurm
// up in the same invocation, the ratio, and whether the target is met. It
// prints the table at the end and, with NAI_BENCH_WRITE=FILE, writes it into
// FILE (BENCH.md) between the markers below, leaving the rest of the file
// (the analysis) as it is.
type benchReport struct {
	mu    sync.Mutex
	rows  []benchRow
	start time.Time
	slurm bool
}

// benchRow is one figure.
type benchRow struct {
	figure string
	target string
	slurm  string // Slurm's value, "" when not measured
	nai    string
	ratio  string // how many times better nai is, "" without Slurm or without a ratio
	met    string // "yes", "no" or "-" (no target, or Slurm needed and absent)
	load   string // load average while it ran
}

const (
	benchBegin = "<!-- make bench: begin (written by e2e/bench_report_test.go) -->"
	benchEnd   = "<!-- make bench: end -->"
)

func newBenchReport(slurm bool) *benchReport {
	return &benchReport{start: time.Now(), slurm: slurm}
}

// add records a row and prints it at once, so a run that fails later
// still shows what it measured.
func (r *benchReport) add(row benchRow) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if row.met == "" {
		row.met = "-"
	}
	r.rows = append(r.rows, row)
	fmt.Printf("BENCH %s: nai %s", row.figure, row.nai)
	if row.slurm != "" {
		fmt.Printf(", Slurm %s", row.slurm)
	}
	if row.ratio != "" {
		fmt.Printf(", ratio %s", row.ratio)
	}
	fmt.Printf(" (target %s: %s; load %s)\n", row.target, row.met, row.load)
}

// yesNo turns a comparison into the met column.
func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

// ratioText writes a ratio as "2.3x".
func ratioText(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0fx", x)
	case x >= 10:
		return fmt.Sprintf("%.1fx", x)
	default:
		return fmt.Sprintf("%.2fx", x)
	}
}

// loadAvg is the one-minute load average, as text.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// waitQuiet waits, up to max, until the CPUs are idle: under a quarter of a
// core busy (user, system and interrupts, from /proc/stat) over half a
// second. It returns how long it waited and how busy the last half second
// was.
func waitQuiet(max time.Duration) (time.Duration, float64) {
	start := time.Now()
	for {
		a, errA := cpuTimes()
		time.Sleep(500 * time.Millisecond)
		b, errB := cpuTimes()
		if errA != nil || errB != nil || b.total <= a.total {
			return time.Since(start), -1
		}
		busy := float64(b.busy-a.busy) / float64(b.total-a.total) * float64(runtime.NumCPU())
		if busy < 0.25 || time.Since(start) >= max {
			return time.Since(start), busy
		}
	}
}

// cpuTimes are the first line of /proc/stat: the ticks spent busy (user,
// nice, system, irq, softirq) and all of them.
type cpuTicks struct{ busy, total uint64 }

func cpuTimes() (cpuTicks, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTicks{}, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return cpuTicks{}, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var t cpuTicks
	for i, v := range f[1:] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return cpuTicks{}, fmt.Errorf("/proc/stat: %q: %w", line, err)
		}
		if i >= 8 { // guest time is counted in user already
			break
		}
		t.total += n
		switch i {
		case 0, 1, 2, 5, 6: // user, nice, system, irq, softirq
			t.busy += n
		}
	}
	return t, nil
}

// loadSpan is the load at the start and at the end of a figure.
type loadSpan struct{ from string }

func startLoad() loadSpan { return loadSpan{from: loadAvg()} }

func (l loadSpan) String() string {
	to := loadAvg()
	if to == l.from {
		return to
	}
	return l.from + "–" + to
}

// table renders the rows as a Markdown table.
func (r *benchReport) table(w io.Writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintln(w, "| figure | target | Slurm | nai | ratio | met | load |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- |")
	for _, row := range r.rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", row.figure, row.target, orDashText(row.slurm), row.nai, orDashText(row.ratio), row.met, row.load)
	}
}

func orDashText(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// markdown is the generated section of BENCH.md.
func (r *benchReport) markdown() string {
	var b bytes.Buffer
	fmt.Fprintln(&b, benchBegin)
	slurm := "without Slurm (set NAI_BENCH_SLURM=1 for its side and the ratios)"
	if r.slurm {
		slurm = "with Debian's Slurm 22.05 set up by bench/slurm/setup.sh on the same machine, measured in the same run"
	}
	fmt.Fprintf(&b, "Last `make bench`: %s UTC, %s, %d cores, %s, %s; %.0f s in all.\n\n",
		r.start.UTC().Format("2006-01-02 15:04"), hostKernel(), runtime.NumCPU(), runtime.Version(), slurm, time.Since(r.start).Seconds())
	r.table(&b)
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, benchEnd)
	return b.String()
}

// write puts the generated section into path, replacing the one there or
// adding it after the first heading.
func (r *benchReport) write(path string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	section := r.markdown()
	s := string(old)
	i, j := strings.Index(s, benchBegin), strings.Index(s, benchEnd)
	switch {
	case i >= 0 && j > i:
		s = s[:i] + section + s[j+len(benchEnd)+1:]
	case s == "":
		s = "# nai speed figures\n\n" + section
	default:
		// After the first line (the title).
		nl := strings.IndexByte(s, '\n')
		s = s[:nl+1] + "\n" + section + s[nl+1:]
	}
	return os.WriteFile(path, []byte(s), 0o644)
}

// hostKernel is the kernel release, for the record.
func hostKernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "Linux"
	}
	return "Linux " + strings.TrimSpace(string(b))
}

// median of durations (sorts a copy).
func medianDur(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// pctDur is the p-th percentile (0..100) of durations.
func pctDur(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, len(s)*p/100)]
}
