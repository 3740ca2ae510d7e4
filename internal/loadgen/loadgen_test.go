package loadgen

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestRunAndPercentiles(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer hs.Close()
	res, err := Run(Client(4), Request{Method: "GET", URL: hs.URL}, 4, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Latencies) != 100 || res.Rate() <= 0 || res.Percentile(50) > res.Percentile(99) {
		t.Errorf("%d latencies, rate %f, p50 %s p99 %s", len(res.Latencies), res.Rate(), res.Percentile(50), res.Percentile(99))
	}
	r := Result{Latencies: []time.Duration{4, 1, 3, 2}, Elapsed: time.Second}
	if r.Percentile(50) != 2 || r.Percentile(99) != 4 || r.Percentile(0) != 1 {
		t.Errorf("percentiles %s %s %s", r.Percentile(50), r.Percentile(99), r.Percentile(0))
	}
	if _, err := Run(Client(1), Request{Method: "GET", URL: hs.URL + "/x", Header: http.Header{"X": {"1"}}}, 1, 1); err != nil {
		t.Fatal(err)
	}
	bad := httptest.NewServer(http.NotFoundHandler())
	defer bad.Close()
	if _, err := Run(Client(1), Request{Method: "GET", URL: bad.URL}, 1, 3); err == nil {
		t.Error("a 404 counted as an answer")
	}
}
