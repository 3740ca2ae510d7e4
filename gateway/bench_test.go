package gateway

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The gateway's cost, measured with a load generator on loopback: the same
// requests (a POST of a small JSON body, as a model's /predict gets, and a
// small JSON answer) sent straight to a replica and through the gateway,
// by 1 and by 64 concurrent clients. Reported per request: p50 and p99 of
// each path, their difference (the overhead), and the rate through the
// gateway. Figures: BENCH.md, "Service gateway".
//
//	go test -run '^$' -bench GatewayOverhead -benchtime 20000x ./gateway/

const benchBody = `{"image": [0,0,5,13,9,1,0,0,0,0,13,15,10,15,5,0,0,3,15,2,0,11,8,0,0,4,12,0,0,8,8,0,0,5,8,0,0,9,8,0,0,4,11,0,1,12,7,0,0,2,14,5,10,12,0,0,0,0,6,13,10,0,0,0]}`

const benchAnswer = `{"class": 0, "probabilities": [0.97,0.0,0.0,0.0,0.01,0.0,0.0,0.0,0.02,0.0], "model_version": "1"}`

func BenchmarkGatewayOverhead(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(len(benchAnswer)))
		io.WriteString(w, benchAnswer)
	}))
	defer backend.Close()
	g := New(Config{})
	g.Update(1, []*Service{{Name: "svc", Replicas: []*Replica{{AllocID: "1.1", Address: strings.TrimPrefix(backend.URL, "http://")}}}})
	gw := front(b, g)

	for _, clients := range []int{1, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 2 * clients, DisableCompression: true}
			defer tr.CloseIdleConnections()
			cl := &http.Client{Transport: tr}
			direct, through := backend.URL+"/predict", gw.URL+"/s/predict"
			// Warm both paths' connection pools.
			load(b, cl, direct, clients, 4*clients)
			load(b, cl, through, clients, 4*clients)
			b.ResetTimer()
			// Alternate halves so that both paths see the same machine.
			half := max(b.N/2, 1)
			var d, t []time.Duration
			var dElapsed, tElapsed time.Duration
			for range 2 {
				dl, de := load(b, cl, direct, clients, half)
				tl, te := load(b, cl, through, clients, half)
				d, t = append(d, dl...), append(t, tl...)
				dElapsed += de
				tElapsed += te
			}
			b.StopTimer()
			dp50, dp99 := percentile(d, 50), percentile(d, 99)
			tp50, tp99 := percentile(t, 50), percentile(t, 99)
			b.ReportMetric(us(dp50), "direct-p50-µs")
			b.ReportMetric(us(dp99), "direct-p99-µs")
			b.ReportMetric(us(tp50), "gateway-p50-µs")
			b.ReportMetric(us(tp99), "gateway-p99-µs")
			b.ReportMetric(us(tp50-dp50), "overhead-p50-µs")
			b.ReportMetric(us(tp99-dp99), "overhead-p99-µs")
			b.ReportMetric(float64(len(d))/dElapsed.Seconds(), "direct-req/s")
			b.ReportMetric(float64(len(t))/tElapsed.Seconds(), "gateway-req/s")
		})
	}
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// load sends n requests to url from clients goroutines and returns each
// request's latency and the time the whole load took.
func load(b *testing.B, cl *http.Client, url string, clients, n int) ([]time.Duration, time.Duration) {
	var next atomic.Int64
	lat := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	var failed atomic.Value
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				t0 := time.Now()
				resp, err := cl.Post(url, "application/json", bytes.NewReader([]byte(benchBody)))
				if err != nil {
					failed.Store(err)
					return
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					failed.Store(fmt.Errorf("status %d, %v", resp.StatusCode, err))
					return
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, ok := failed.Load().(error); ok {
		b.Fatalf("load on %s: %v", url, err)
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	return all, elapsed
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}
