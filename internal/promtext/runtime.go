package promtext

import (
	"bufio"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"
)

// goCollector exports Go's runtime figures under the names client_golang
// uses, so dashboards written for any Go service read them.
type goCollector struct {
	goroutines, threads, info, gcDuration                           *Desc
	alloc, allocTotal, sys, heapAlloc, heapSys, heapIdle, heapInuse *Desc
	heapReleased, heapObjects, stackInuse, stackSys, nextGC, lastGC *Desc
	mallocs, frees, gcCPU, gomaxprocs                               *Desc
	gcCount, heapLive                                               *Desc
	version                                                         string
}

// NewGoCollector exports goroutines, threads, the GC's pauses and the
// memory statistics of the runtime (go_*).
func NewGoCollector() Collector {
	d := func(name, help string) *Desc { return NewDesc(name, help, nil) }
	return &goCollector{
		goroutines:   d("go_goroutines", "Number of goroutines that currently exist."),
		threads:      d("go_threads", "Number of OS threads created."),
		info:         NewDesc("go_info", "Information about the Go environment.", []string{"version"}),
		gcDuration:   d("go_gc_duration_seconds", "A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles."),
		alloc:        d("go_memstats_alloc_bytes", "Number of bytes allocated in heap and currently in use."),
		allocTotal:   d("go_memstats_alloc_bytes_total", "Total number of bytes allocated in heap until now, even if released already."),
		sys:          d("go_memstats_sys_bytes", "Number of bytes obtained from system."),
		heapAlloc:    d("go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and currently in use."),
		heapSys:      d("go_memstats_heap_sys_bytes", "Number of heap bytes obtained from system."),
		heapIdle:     d("go_memstats_heap_idle_bytes", "Number of heap bytes waiting to be used."),
		heapInuse:    d("go_memstats_heap_inuse_bytes", "Number of heap bytes that are in use."),
		heapReleased: d("go_memstats_heap_released_bytes", "Number of heap bytes released to OS."),
		heapObjects:  d("go_memstats_heap_objects", "Number of currently allocated objects."),
		stackInuse:   d("go_memstats_stack_inuse_bytes", "Number of bytes obtained from system for stack allocator in non-CGO environments."),
		stackSys:     d("go_memstats_stack_sys_bytes", "Number of bytes obtained from system for stack allocator."),
		nextGC:       d("go_memstats_next_gc_bytes", "Number of heap bytes when next garbage collection will take place."),
		lastGC:       d("go_memstats_last_gc_time_seconds", "Number of seconds since 1970 of last garbage collection."),
		mallocs:      d("go_memstats_mallocs_total", "Total number of heap objects allocated."),
		frees:        d("go_memstats_frees_total", "Total number of heap objects frees."),
		gcCPU:        d("go_memstats_gc_cpu_fraction", "The fraction of this program's available CPU time used by the GC since the program started."),
		gomaxprocs:   d("go_sched_gomaxprocs_threads", "The current runtime.GOMAXPROCS setting."),
		gcCount:      d("go_gc_cycles_total", "Completed garbage collection cycles."),
		heapLive:     d("go_gc_heap_live_bytes", "Heap memory occupied by live objects that were marked by the previous GC."),
		version:      runtime.Version(),
	}
}

func (c *goCollector) descs() []*Desc {
	return []*Desc{c.goroutines, c.threads, c.info, c.gcDuration, c.alloc, c.allocTotal, c.sys, c.heapAlloc, c.heapSys,
		c.heapIdle, c.heapInuse, c.heapReleased, c.heapObjects, c.stackInuse, c.stackSys, c.nextGC, c.lastGC,
		c.mallocs, c.frees, c.gcCPU, c.gomaxprocs, c.gcCount, c.heapLive}
}

func (c *goCollector) Describe(ch chan<- *Desc) {
	for _, d := range c.descs() {
		ch <- d
	}
}

func (c *goCollector) Collect(ch chan<- Metric) {
	g := func(d *Desc, v float64) { ch <- MustNewConstMetric(d, GaugeValue, v) }
	k := func(d *Desc, v float64) { ch <- MustNewConstMetric(d, CounterValue, v) }
	g(c.goroutines, float64(runtime.NumGoroutine()))
	n, _ := runtime.ThreadCreateProfile(nil)
	g(c.threads, float64(n))
	ch <- MustNewConstMetric(c.info, GaugeValue, 1, c.version)

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	g(c.alloc, float64(ms.Alloc))
	k(c.allocTotal, float64(ms.TotalAlloc))
	g(c.sys, float64(ms.Sys))
	g(c.heapAlloc, float64(ms.HeapAlloc))
	g(c.heapSys, float64(ms.HeapSys))
	g(c.heapIdle, float64(ms.HeapIdle))
	g(c.heapInuse, float64(ms.HeapInuse))
	g(c.heapReleased, float64(ms.HeapReleased))
	g(c.heapObjects, float64(ms.HeapObjects))
	g(c.stackInuse, float64(ms.StackInuse))
	g(c.stackSys, float64(ms.StackSys))
	g(c.nextGC, float64(ms.NextGC))
	g(c.lastGC, float64(ms.LastGC)/1e9)
	k(c.mallocs, float64(ms.Mallocs))
	k(c.frees, float64(ms.Frees))
	g(c.gcCPU, ms.GCCPUFraction)
	g(c.gomaxprocs, float64(runtime.GOMAXPROCS(0)))
	k(c.gcCount, float64(ms.NumGC))
	// What the last collection found live: unlike heap_inuse, it does not
	// count the free room in spans that still hold one live object.
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(live)
	if live[0].Value.Kind() == metrics.KindUint64 {
		g(c.heapLive, float64(live[0].Value.Uint64()))
	}

	var st debug.GCStats
	st.PauseQuantiles = make([]time.Duration, 5)
	debug.ReadGCStats(&st)
	var total time.Duration
	for _, p := range st.Pause {
		total += p
	}
	ch <- &summary{d: c.gcDuration, quantiles: []float64{0, 0.25, 0.5, 0.75, 1}, values: st.PauseQuantiles,
		sum: total.Seconds(), count: uint64(st.NumGC)}
}

// summary is a summary metric of durations (the GC pauses).
type summary struct {
	d         *Desc
	quantiles []float64
	values    []time.Duration
	sum       float64
	count     uint64
}

func (s *summary) desc() *Desc { return s.d }
func (s *summary) typ() string { return "summary" }
func (s *summary) write(w *bufio.Writer, name string) {
	for i, q := range s.quantiles {
		writeSample(w, name, nil, nil, "quantile", formatFloat(q), s.values[i].Seconds())
	}
	writeSample(w, name+"_sum", nil, nil, "", "", s.sum)
	writeSample(w, name+"_count", nil, nil, "", "", float64(s.count))
}

// processCollector exports the process's CPU, memory, file descriptors
// and start time from /proc (process_*), as client_golang does on Linux.
type processCollector struct {
	cpu, rss, vsz, fds, maxFDs, start *Desc
}

// NewProcessCollector exports this process's figures.
func NewProcessCollector() Collector {
	d := func(name, help string) *Desc { return NewDesc(name, help, nil) }
	return &processCollector{
		cpu:    d("process_cpu_seconds_total", "Total user and system CPU time spent in seconds."),
		rss:    d("process_resident_memory_bytes", "Resident memory size in bytes."),
		vsz:    d("process_virtual_memory_bytes", "Virtual memory size in bytes."),
		fds:    d("process_open_fds", "Number of open file descriptors."),
		maxFDs: d("process_max_fds", "Maximum number of open file descriptors."),
		start:  d("process_start_time_seconds", "Start time of the process since unix epoch in seconds."),
	}
}

func (c *processCollector) Describe(ch chan<- *Desc) {
	for _, d := range []*Desc{c.cpu, c.rss, c.vsz, c.fds, c.maxFDs, c.start} {
		ch <- d
	}
}

// userHZ is the kernel's clock tick for /proc times; 100 on Linux.
const userHZ = 100

func (c *processCollector) Collect(ch chan<- Metric) {
	if st, err := readProcStat(); err == nil {
		ch <- MustNewConstMetric(c.cpu, CounterValue, float64(st.utime+st.stime)/userHZ)
		ch <- MustNewConstMetric(c.vsz, GaugeValue, float64(st.vsize))
		ch <- MustNewConstMetric(c.rss, GaugeValue, float64(st.rss*int64(os.Getpagesize())))
		if boot, err := bootTime(); err == nil {
			ch <- MustNewConstMetric(c.start, GaugeValue, float64(boot)+float64(st.starttime)/userHZ)
		}
	}
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		ch <- MustNewConstMetric(c.fds, GaugeValue, float64(len(ents)))
	}
	if n, err := maxFDs(); err == nil {
		ch <- MustNewConstMetric(c.maxFDs, GaugeValue, n)
	}
}

type procStat struct {
	utime, stime, starttime uint64
	vsize                   uint64
	rss                     int64
}

// readProcStat reads the fields of /proc/self/stat it needs (proc(5)).
func readProcStat() (procStat, error) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return procStat{}, err
	}
	s := string(b)
	// The command name is in parentheses and may hold spaces.
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return procStat{}, errBadStat
	}
	f := strings.Fields(s[i+2:])
	// f[0] is field 3 (state): utime is field 14, stime 15, starttime 22,
	// vsize 23, rss 24.
	if len(f) < 22 {
		return procStat{}, errBadStat
	}
	u := func(k int) uint64 { n, _ := strconv.ParseUint(f[k-3], 10, 64); return n }
	rss, _ := strconv.ParseInt(f[24-3], 10, 64)
	return procStat{utime: u(14), stime: u(15), starttime: u(22), vsize: u(23), rss: rss}, nil
}

type statError string

func (e statError) Error() string { return string(e) }

const errBadStat = statError("unexpected format of /proc/self/stat")

// bootTime is the btime line of /proc/stat: the boot time in seconds.
func bootTime() (int64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, statError("no btime in /proc/stat")
}

// maxFDs is the soft limit of open files from /proc/self/limits.
func maxFDs() (float64, error) {
	b, err := os.ReadFile("/proc/self/limits")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Max open files") {
			f := strings.Fields(line)
			if len(f) >= 4 {
				if f[3] == "unlimited" {
					return 0, statError("unlimited")
				}
				return strconv.ParseFloat(f[3], 64)
			}
		}
	}
	return 0, statError("no open files limit")
}
