// Package promtext exports metrics in Prometheus's text exposition format
// (version 0.0.4): counters, histograms, collectors that read their values
// at scrape time, and Go's and the process's own figures.
//
// It is the small part of prometheus/client_golang that nai uses, with the
// same shapes (Desc, Collector, MustNewConstMetric, Registry), written here
// because every nai process links it: client_golang's package initialisers
// (its default registry, the Go collector's runtime/metrics tables, procfs,
// protobuf descriptors, expvar) cost about 0.8 ms of CPU at the start of
// every CLI call and every job's executor, which use none of it (BENCH.md).
//
// It imports nothing of nai.
package promtext

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// ValueType is the kind of a constant metric.
type ValueType int

const (
	CounterValue ValueType = iota
	GaugeValue
)

func (v ValueType) String() string {
	if v == CounterValue {
		return "counter"
	}
	return "gauge"
}

// Desc describes a metric family: its name, help text and label names.
type Desc struct {
	name   string
	help   string
	labels []string
}

// NewDesc describes a family whose samples carry the given labels.
func NewDesc(name, help string, labels []string) *Desc {
	return &Desc{name: name, help: help, labels: labels}
}

// Name is the family's name.
func (d *Desc) Name() string { return d.name }

// Metric is one sample (or, for a histogram, one series of samples) of a
// family.
type Metric interface {
	desc() *Desc
	write(w *bufio.Writer, name string)
	typ() string
}

// Collector yields metrics at scrape time.
type Collector interface {
	// Describe sends the descriptions of every family Collect may yield.
	Describe(ch chan<- *Desc)
	// Collect sends the current metrics.
	Collect(ch chan<- Metric)
}

// constMetric is a value read at scrape time.
type constMetric struct {
	d      *Desc
	t      ValueType
	v      float64
	labels []string
}

// MustNewConstMetric is one sample; it panics when the label values do not
// match the description (a programming error).
func MustNewConstMetric(d *Desc, t ValueType, v float64, labelValues ...string) Metric {
	if len(labelValues) != len(d.labels) {
		panic(fmt.Sprintf("promtext: %s has %d labels, got %d values", d.name, len(d.labels), len(labelValues)))
	}
	return &constMetric{d: d, t: t, v: v, labels: labelValues}
}

func (m *constMetric) desc() *Desc { return m.d }
func (m *constMetric) typ() string { return m.t.String() }
func (m *constMetric) write(w *bufio.Writer, name string) {
	writeSample(w, name, m.d.labels, m.labels, "", "", m.v)
}

// Counter is a value that only goes up.
type Counter struct {
	d    *Desc
	bits atomic.Uint64
}

// CounterOpts name a counter.
type CounterOpts struct{ Name, Help string }

// NewCounter makes a counter at 0.
func NewCounter(o CounterOpts) *Counter { return &Counter{d: NewDesc(o.Name, o.Help, nil)} }

// Inc adds one.
func (c *Counter) Inc() { c.Add(1) }

// Add adds v (which must not be negative).
func (c *Counter) Add(v float64) {
	for {
		old := c.bits.Load()
		if c.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// Value is the count so far.
func (c *Counter) Value() float64 { return math.Float64frombits(c.bits.Load()) }

func (c *Counter) Describe(ch chan<- *Desc) { ch <- c.d }
func (c *Counter) Collect(ch chan<- Metric) {
	ch <- &constMetric{d: c.d, t: CounterValue, v: c.Value()}
}

// Histogram counts observations in buckets of upper bounds.
type Histogram struct {
	d      *Desc
	bounds []float64
	mu     sync.Mutex
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	n      uint64
}

// HistogramOpts name a histogram and give its bucket upper bounds.
type HistogramOpts struct {
	Name, Help string
	Buckets    []float64
}

// NewHistogram makes an empty histogram.
func NewHistogram(o HistogramOpts) *Histogram {
	b := slices.Clone(o.Buckets)
	slices.Sort(b)
	return &Histogram{d: NewDesc(o.Name, o.Help, nil), bounds: b, counts: make([]uint64, len(b)+1)}
}

// ExponentialBuckets are n bounds from start, each factor times the last.
func ExponentialBuckets(start, factor float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = start
		start *= factor
	}
	return out
}

// Observe adds one observation.
func (h *Histogram) Observe(v float64) {
	i, _ := slices.BinarySearch(h.bounds, v)
	h.mu.Lock()
	h.counts[i]++
	h.sum += v
	h.n++
	h.mu.Unlock()
}

func (h *Histogram) Describe(ch chan<- *Desc) { ch <- h.d }
func (h *Histogram) Collect(ch chan<- Metric) {
	h.mu.Lock()
	s := &histSnapshot{d: h.d, bounds: h.bounds, counts: slices.Clone(h.counts), sum: h.sum, n: h.n}
	h.mu.Unlock()
	ch <- s
}

type histSnapshot struct {
	d      *Desc
	bounds []float64
	counts []uint64
	sum    float64
	n      uint64
}

func (s *histSnapshot) desc() *Desc { return s.d }
func (s *histSnapshot) typ() string { return "histogram" }
func (s *histSnapshot) write(w *bufio.Writer, name string) {
	var cum uint64
	for i, b := range s.bounds {
		cum += s.counts[i]
		writeSample(w, name+"_bucket", nil, nil, "le", formatFloat(b), float64(cum))
	}
	writeSample(w, name+"_bucket", nil, nil, "le", "+Inf", float64(s.n))
	writeSample(w, name+"_sum", nil, nil, "", "", s.sum)
	writeSample(w, name+"_count", nil, nil, "", "", float64(s.n))
}

// Gatherer writes every metric it knows in the text format.
type Gatherer interface {
	WriteText(w io.Writer) error
}

// Registry holds collectors and writes what they yield.
type Registry struct {
	mu         sync.Mutex
	collectors []Collector
	names      map[string]bool
}

// NewRegistry is an empty registry.
func NewRegistry() *Registry { return &Registry{names: map[string]bool{}} }

// Register adds a collector; a family name registered before is an error.
func (r *Registry) Register(c Collector) error {
	ch := make(chan *Desc, 16)
	var descs []*Desc
	go func() {
		c.Describe(ch)
		close(ch)
	}()
	for d := range ch {
		descs = append(descs, d)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range descs {
		if r.names[d.name] {
			return fmt.Errorf("metric %s is registered twice", d.name)
		}
	}
	for _, d := range descs {
		r.names[d.name] = true
	}
	r.collectors = append(r.collectors, c)
	return nil
}

// MustRegister registers collectors and panics on a duplicate (a
// programming error).
func (r *Registry) MustRegister(cs ...Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic("promtext: " + err.Error())
		}
	}
}

// family is one metric family's samples, gathered for a scrape.
type family struct {
	d       *Desc
	typ     string
	metrics []Metric
}

// WriteText collects every registered collector and writes the families
// sorted by name, each with its HELP and TYPE lines.
func (r *Registry) WriteText(out io.Writer) error {
	r.mu.Lock()
	cs := slices.Clone(r.collectors)
	r.mu.Unlock()
	fams := map[string]*family{}
	ch := make(chan Metric, 64)
	go func() {
		for _, c := range cs {
			c.Collect(ch)
		}
		close(ch)
	}()
	for m := range ch {
		d := m.desc()
		f := fams[d.name]
		if f == nil {
			f = &family{d: d, typ: m.typ()}
			fams[d.name] = f
		}
		f.metrics = append(f.metrics, m)
	}
	names := make([]string, 0, len(fams))
	for n := range fams {
		names = append(names, n)
	}
	slices.Sort(names)
	w := bufio.NewWriter(out)
	for _, n := range names {
		f := fams[n]
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", n, escapeHelp(f.d.help), n, f.typ)
		for _, m := range f.metrics {
			m.write(w, n)
		}
	}
	return w.Flush()
}

// Handler serves a gatherer's text at scrape time; errors go to logErr
// (nil: dropped).
func Handler(g Gatherer, logErr func(error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		if err := g.WriteText(w); err != nil && logErr != nil {
			logErr(err)
		}
	})
}

// writeSample writes one line: name{labels} value.
func writeSample(w *bufio.Writer, name string, labels, values []string, extraName, extraValue string, v float64) {
	w.WriteString(name)
	if len(labels) > 0 || extraName != "" {
		w.WriteByte('{')
		sep := false
		for i, l := range labels {
			if sep {
				w.WriteByte(',')
			}
			sep = true
			w.WriteString(l)
			w.WriteString(`="`)
			w.WriteString(escapeLabel(values[i]))
			w.WriteByte('"')
		}
		if extraName != "" {
			if sep {
				w.WriteByte(',')
			}
			w.WriteString(extraName)
			w.WriteString(`="`)
			w.WriteString(extraValue)
			w.WriteByte('"')
		}
		w.WriteByte('}')
	}
	w.WriteByte(' ')
	w.WriteString(formatFloat(v))
	w.WriteByte('\n')
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
func escapeLabel(s string) string { return labelEscaper.Replace(s) }
