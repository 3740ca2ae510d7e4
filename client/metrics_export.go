package client

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nai-project/nai/client/fingerprint"
	"github.com/nai-project/nai/structs"
)

// What a client agent exports, and the live metric history it serves.
//
// Prometheus: the node's own GPUs as its monitor last sampled them
// (utilisation, memory, health). An agent that is also a server registers
// MetricsCollector with the server's registry; a client-only agent serves
// its own registry (ServeMetrics) at GET /v1/metrics.
//
// A running job's metric history: the allocation's NAI_METRICS_FILE,
// served as it grows (GET /v1/client/allocations/{id}/metrics), so the
// servers can answer GET /v1/jobs/{id}/metrics?all=true before the job
// ends and its history becomes a blob.

var (
	descGPUUtil = prometheus.NewDesc("nai_gpu_utilization_ratio",
		"GPU utilisation in the last sample, 0 to 1.", []string{"node", "gpu"}, nil)
	descGPUMem = prometheus.NewDesc("nai_gpu_memory_used_bytes",
		"GPU memory in use in the last sample.", []string{"node", "gpu"}, nil)
	descGPUMemTotal = prometheus.NewDesc("nai_gpu_memory_total_bytes",
		"GPU memory of the device.", []string{"node", "gpu"}, nil)
	descGPUHealthy = prometheus.NewDesc("nai_gpu_healthy",
		"1 while the GPU is healthy, 0 once it was withdrawn.", []string{"node", "gpu"}, nil)
)

// gpuCollector reads the client's GPU monitor at scrape time.
type gpuCollector struct{ c *Client }

// MetricsCollector is the collector of this node's GPUs.
func (c *Client) MetricsCollector() prometheus.Collector { return gpuCollector{c} }

func (g gpuCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descGPUUtil
	ch <- descGPUMem
	ch <- descGPUMemTotal
	ch <- descGPUHealthy
}

func (g gpuCollector) Collect(ch chan<- prometheus.Metric) {
	node := g.c.nodeName()
	gpus := g.c.gpus()
	samples := map[int]fingerprint.Usage{}
	g.c.gpuMu.Lock()
	m := g.c.monitor
	g.c.gpuMu.Unlock()
	if m != nil {
		for _, u := range m.Usage() {
			samples[u.Index] = u
		}
	}
	for _, gpu := range gpus {
		idx := strconv.Itoa(gpu.Index)
		s := samples[gpu.Index]
		tot := s.MemoryTotalBytes
		if tot == 0 {
			tot = gpu.MemoryBytes
		}
		healthy := 0.0
		if gpu.Healthy {
			healthy = 1
		}
		ch <- prometheus.MustNewConstMetric(descGPUUtil, prometheus.GaugeValue, float64(s.UtilizationPercent)/100, node, idx)
		ch <- prometheus.MustNewConstMetric(descGPUMem, prometheus.GaugeValue, float64(s.MemoryUsedBytes), node, idx)
		ch <- prometheus.MustNewConstMetric(descGPUMemTotal, prometheus.GaugeValue, float64(tot), node, idx)
		ch <- prometheus.MustNewConstMetric(descGPUHealthy, prometheus.GaugeValue, healthy, node, idx)
	}
}

// ServeMetrics makes the client's door serve g at GET /v1/metrics (a
// client-only agent; with a server in the process, the server does).
func (c *Client) ServeMetrics(g prometheus.Gatherer) { c.gatherer.Store(&g) }

func (c *Client) serveMetrics(w http.ResponseWriter, r *http.Request) {
	g := c.gatherer.Load()
	if g == nil {
		writeError(w, http.StatusNotFound, structs.NewError(structs.CodeNotFound, "this agent serves no metrics at this address"))
		return
	}
	promhttp.HandlerFor(*g, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// maxMetricsServe bounds one answer of an allocation's metric history;
// the servers keep at most as many lines.
const maxMetricsServe = 256 << 20

// serveAllocMetrics answers the allocation's NAI_METRICS_FILE from byte
// ?offset= (default 0): whole lines only, so a line being written is sent
// on the next call. X-Nai-Offset says where the next call starts.
func (c *Client) serveAllocMetrics(w http.ResponseWriter, r *http.Request) {
	dir, ok := c.localAlloc(w, r)
	if !ok {
		return
	}
	var offset int64
	if v := r.URL.Query().Get("offset"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, structs.NewError(structs.CodeInvalid, "offset %q is invalid: expected a byte offset of 0 or more", v))
			return
		}
		offset = n
	}
	body, next, err := readWholeLines(dir.metricsPath(), offset, maxMetricsServe)
	if err != nil {
		writeError(w, http.StatusInternalServerError, structs.NewError(structs.CodeInternal, "read the metrics of allocation %s: %v", r.PathValue("id"), err))
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set(structs.NextOffsetHeader, strconv.FormatInt(next, 10))
	_, _ = w.Write(body)
}

// readWholeLines reads path from offset up to the last newline (at most
// limit bytes) and returns those bytes and the offset after them. A file
// not written yet reads as empty.
func readWholeLines(path string, offset, limit int64) ([]byte, int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, offset, nil
	}
	if err != nil {
		return nil, offset, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, offset, err
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, bufio.NewReader(io.LimitReader(f, limit))); err != nil {
		return nil, offset, err
	}
	b := buf.Bytes()
	end := bytes.LastIndexByte(b, '\n')
	if end < 0 {
		return nil, offset, nil
	}
	return b[:end+1], offset + int64(end+1), nil
}
