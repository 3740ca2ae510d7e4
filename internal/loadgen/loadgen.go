package loadgen

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Request is what every call sends.
type Request struct {
	Method string
	URL    string
	Body   []byte
	Header http.Header
}

// Result is one load run.
type Result struct {
	Latencies []time.Duration
	Elapsed   time.Duration
}

// Rate is the requests per second of the run.
func (r Result) Rate() float64 { return float64(len(r.Latencies)) / r.Elapsed.Seconds() }

// Percentile is the p-th percentile latency (p in 0..100).
func (r Result) Percentile(p int) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.Latencies)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}

// Merge adds another run of the same load.
func (r Result) Merge(o Result) Result {
	return Result{Latencies: append(slices.Clone(r.Latencies), o.Latencies...), Elapsed: r.Elapsed + o.Elapsed}
}

// Run sends n requests from clients goroutines sharing cl and waits for
// every answer, which must be 200 OK and is read whole.
func Run(cl *http.Client, req Request, clients, n int) (Result, error) {
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
				if err := once(cl, req); err != nil {
					failed.Store(err)
					return
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	res := Result{Elapsed: time.Since(start)}
	if err, ok := failed.Load().(error); ok {
		return res, err
	}
	for _, l := range lat {
		res.Latencies = append(res.Latencies, l...)
	}
	return res, nil
}

func once(cl *http.Client, r Request) error {
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequest(r.Method, r.URL, body)
	if err != nil {
		return err
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	resp, err := cl.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s %s: status %d", r.Method, r.URL, resp.StatusCode)
	}
	return err
}

// Client is an HTTP client for a load of clients concurrent callers: keep-
// alive connections enough for all of them.
func Client(clients int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 4 * clients, MaxIdleConnsPerHost: 2 * clients, DisableCompression: true}}
}
