package loadgen

import (
	"net/http"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// PredictBody and PredictAnswer are a digits prediction's request and
// answer: the load the serving benchmarks send.
const (
	PredictBody   = `{"image": [0,0,5,13,9,1,0,0,0,0,13,15,10,15,5,0,0,3,15,2,0,11,8,0,0,4,12,0,0,8,8,0,0,5,8,0,0,9,8,0,0,4,11,0,1,12,7,0,0,2,14,5,10,12,0,0,0,0,6,13,10,0,0,0]}`
	PredictAnswer = `{"class": 0, "probabilities": [0.97,0.0,0.0,0.0,0.01,0.0,0.0,0.0,0.02,0.0], "model_version": "1"}`
)

// Compare sends b.N predictions to direct and b.N to through (each in two
// alternating halves, so that both see the same machine) from clients
// concurrent callers, and reports per request the p50 and p99 of each, the
// difference (the overhead of the second path), and each path's rate.
func Compare(b *testing.B, direct, through string, clients int) {
	cl := Client(clients)
	run := func(url string, n int) Result {
		r, err := Run(cl, Request{Method: "POST", URL: url, Body: []byte(PredictBody), Header: http.Header{"Content-Type": {"application/json"}}}, clients, n)
		if err != nil {
			b.Fatal(err)
		}
		return r
	}
	run(direct, 4*clients) // warm both connection pools
	run(through, 4*clients)
	b.ResetTimer()
	half := max(b.N/2, 1)
	var d, t Result
	var dCPU, tCPU time.Duration
	for range 2 {
		c0 := cpuTime()
		d = d.Merge(run(direct, half))
		c1 := cpuTime()
		t = t.Merge(run(through, half))
		c2 := cpuTime()
		dCPU, tCPU = dCPU+c1-c0, tCPU+c2-c1
	}
	b.StopTimer()
	// The CPU the second path costs beyond the first, per request: what
	// the gateway itself spends, whatever else runs on the machine. Its
	// capacity is this machine's cores divided by it.
	extra := float64(tCPU-dCPU) / float64(len(t.Latencies)) / float64(time.Microsecond)
	if extra > 0 {
		b.ReportMetric(extra, "overhead-cpu-µs/req")
		b.ReportMetric(float64(runtime.NumCPU())*1e6/extra, "capacity-req/s")
	}
	us := func(x time.Duration) float64 { return float64(x) / float64(time.Microsecond) }
	b.ReportMetric(us(d.Percentile(50)), "direct-p50-µs")
	b.ReportMetric(us(d.Percentile(99)), "direct-p99-µs")
	b.ReportMetric(us(t.Percentile(50)), "gateway-p50-µs")
	b.ReportMetric(us(t.Percentile(99)), "gateway-p99-µs")
	b.ReportMetric(us(t.Percentile(50)-d.Percentile(50)), "overhead-p50-µs")
	b.ReportMetric(us(t.Percentile(99)-d.Percentile(99)), "overhead-p99-µs")
	b.ReportMetric(d.Rate(), "direct-req/s")
	b.ReportMetric(t.Rate(), "gateway-req/s")
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Replica answers predictions as a replica would, for the benchmarks.
func Replica(w http.ResponseWriter, r *http.Request) {
	buf := make([]byte, 512)
	for {
		if _, err := r.Body.Read(buf); err != nil {
			break
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(PredictAnswer)))
	w.Write([]byte(PredictAnswer))
}
