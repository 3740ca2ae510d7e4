package promtext

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

type testCollector struct{ d *Desc }

func (c testCollector) Describe(ch chan<- *Desc) { ch <- c.d }
func (c testCollector) Collect(ch chan<- Metric) {
	ch <- MustNewConstMetric(c.d, GaugeValue, 3, "a\"b", "x")
	ch <- MustNewConstMetric(c.d, GaugeValue, 0.5, "c", "y\nz")
}

// The exposition parses with Prometheus's own parser, with the values,
// labels, types and histogram buckets written.
func TestExposition(t *testing.T) {
	r := NewRegistry()
	c := NewCounter(CounterOpts{Name: "t_events_total", Help: "Events.\nTwo lines."})
	h := NewHistogram(HistogramOpts{Name: "t_seconds", Help: "Durations.", Buckets: ExponentialBuckets(0.1, 10, 3)})
	g := testCollector{NewDesc("t_things", "Things by kind.", []string{"kind", "other"})}
	r.MustRegister(c, h, g, NewGoCollector(), NewProcessCollector())
	c.Inc()
	c.Add(2.5)
	for _, v := range []float64{0.05, 0.1, 0.5, 5, 50} {
		h.Observe(v)
	}
	rec := httptest.NewRecorder()
	Handler(r, func(err error) { t.Error(err) }).ServeHTTP(rec, httptest.NewRequest("GET", "/v1/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("content type %q", ct)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, rec.Body.String())
	}
	if v := fams["t_events_total"].GetMetric()[0].GetCounter().GetValue(); v != 3.5 {
		t.Errorf("counter = %v, want 3.5", v)
	}
	hist := fams["t_seconds"].GetMetric()[0].GetHistogram()
	if hist.GetSampleCount() != 5 || hist.GetSampleSum() != 55.65 {
		t.Errorf("histogram count %d sum %v, want 5 and 55.65", hist.GetSampleCount(), hist.GetSampleSum())
	}
	wantCum := []uint64{2, 3, 4, 5} // <= 0.1, <= 1, <= 10, +Inf
	if len(hist.GetBucket()) < 3 {
		t.Fatalf("%d buckets, want 3 and +Inf", len(hist.GetBucket()))
	}
	for i, b := range hist.GetBucket() {
		if b.GetCumulativeCount() != wantCum[i] {
			t.Errorf("bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), wantCum[i])
		}
	}
	things := fams["t_things"].GetMetric()
	if len(things) != 2 || things[0].GetLabel()[0].GetValue() != `a"b` || things[1].GetLabel()[1].GetValue() != "y\nz" {
		t.Errorf("labels not escaped and read back: %v", things)
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_inuse_bytes", "go_gc_heap_live_bytes", "go_gc_duration_seconds", "process_resident_memory_bytes", "process_cpu_seconds_total"} {
		if fams[name] == nil || len(fams[name].GetMetric()) == 0 {
			t.Errorf("%s is missing", name)
		}
	}
	if fams["process_resident_memory_bytes"].GetMetric()[0].GetGauge().GetValue() <= 0 {
		t.Error("process_resident_memory_bytes is not positive")
	}
}

// A family registered twice is an error, and nothing is added.
func TestRegisterTwice(t *testing.T) {
	r := NewRegistry()
	if err := r.Register(NewCounter(CounterOpts{Name: "x_total"})); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(NewCounter(CounterOpts{Name: "x_total"})); err == nil {
		t.Error("second registration of x_total accepted")
	}
}
