package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/nai-project/nai/client/executor"
	"github.com/nai-project/nai/client/fingerprint"
	"github.com/nai-project/nai/structs"
)

// gpuFailureFile holds why an allocation's GPU was withdrawn; the final
// report adds it to the message (and it survives an agent restart).
const gpuFailureFile = "gpu-failure"

// GPU health and utilisation in the running agent:
//
//   - A fingerprint.Monitor samples every GPU each GPUSampleInterval and
//     watches NVML events. Each allocation's runner takes the samples of
//     the GPUs it holds and reports them (ClientStatus.GPUUsage) with its
//     running updates, so node and job answers show them.
//   - A GPU that turns unhealthy is withdrawn: the node is registered again
//     with that GPU Healthy=false and the reason (the scheduler places
//     nothing on unhealthy GPUs), and the allocation holding it is stopped
//     with exit reason gpu-failed. The job then fails, or is requeued when
//     its retry policy lists "failed" (a GPU failure counts as a failure of
//     the attempt; the next attempt goes to healthy GPUs).
//   - An allocation placed on a GPU that is already unhealthy (a placement
//     racing the withdrawal) does not start: start-failed, with the reason.

// startGPUMonitor starts watching the host's GPUs. Without GPUs, or when
// NVML refuses, the client runs on without health and utilisation, and
// says so.
func (c *Client) startGPUMonitor(ctx context.Context) *fingerprint.Monitor {
	if len(c.cfg.Host.GPUs) == 0 {
		return nil
	}
	m := fingerprint.NewMonitor(c.cfg.Host, fingerprint.MonitorOptions{
		Interval: c.cfg.GPUSampleInterval, Logger: c.logger.With("subsystem", "gpu-monitor"),
	})
	if err := m.Start(ctx); err != nil {
		c.logger.Error("gpu monitor not started: gpu health and utilisation are not watched", "error", err)
		return nil
	}
	c.gpuMu.Lock()
	c.monitor = m
	c.gpuMu.Unlock()
	go c.watchGPUHealth(ctx, m)
	return m
}

// gpus is the node's GPUs with their current health.
func (c *Client) gpus() []structs.GPU {
	c.gpuMu.Lock()
	m := c.monitor
	c.gpuMu.Unlock()
	var gpus []structs.GPU
	if m != nil {
		gpus = m.GPUs()
	} else {
		gpus = slices.Clone(c.cfg.Host.GPUs)
	}
	for i := range gpus {
		// View fields, filled by the servers from allocations.
		gpus[i].AllocID, gpus[i].JobID = "", ""
		gpus[i].UtilizationPercent, gpus[i].MemoryUsedBytes = 0, 0
	}
	return gpus
}

// gpuSamples returns the latest samples of the GPUs with these indices.
func (c *Client) gpuSamples(indices []int) []fingerprint.Usage {
	c.gpuMu.Lock()
	m := c.monitor
	c.gpuMu.Unlock()
	if m == nil || len(indices) == 0 {
		return nil
	}
	var out []fingerprint.Usage
	for _, u := range m.Usage() {
		if slices.Contains(indices, u.Index) {
			out = append(out, u)
		}
	}
	return out
}

// checkGPUHealth refuses GPUs that have been withdrawn.
func (c *Client) checkGPUHealth(indices []int) error {
	for _, g := range c.gpus() {
		if !g.Healthy && slices.Contains(indices, g.Index) {
			return fmt.Errorf("gpu %d is unhealthy (%s) and withdrawn from this node", g.Index, g.Unhealthy)
		}
	}
	return nil
}

// watchGPUHealth withdraws each GPU that turns unhealthy.
func (c *Client) watchGPUHealth(ctx context.Context, m *fingerprint.Monitor) {
	for {
		select {
		case <-ctx.Done():
			return
		case ch, ok := <-m.Changes():
			if !ok {
				return
			}
			c.gpuFailed(ch)
		}
	}
}

// gpuFailed stops the allocations on a failed GPU and asks for the node to
// be registered again with the GPU marked unhealthy.
func (c *Client) gpuFailed(ch fingerprint.HealthChange) {
	c.logger.Warn("gpu withdrawn", "gpu", ch.Index, "uuid", ch.UUID, "reason", ch.Reason)
	note := fmt.Sprintf("gpu %d (%s) failed: %s", ch.Index, ch.UUID, ch.Reason)
	c.mu.Lock()
	for _, r := range c.runners {
		if !slices.Contains(r.alloc.GPUs, ch.Index) || !r.running() {
			continue
		}
		if err := executor.WriteFileAtomic(r.dir.path(gpuFailureFile), []byte(note+"\n")); err != nil {
			r.logger.Error("record gpu failure", "error", err)
		}
		r.stop(structs.ExitGPUFailed)
	}
	c.mu.Unlock()
	select {
	case c.reregister <- struct{}{}:
	default: // one is pending already; it will read the newest health
	}
}

// registerLoop registers the node again whenever its GPUs' health changed.
func (c *Client) registerLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.reregister:
			if c.register(ctx) != nil {
				return
			}
		}
	}
}

// gpuFailureNote is why the allocation's GPU was withdrawn, or "".
func (r *allocRunner) gpuFailureNote() string {
	b, err := os.ReadFile(r.dir.path(gpuFailureFile))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// gpuTracker accumulates the samples of one allocation's GPUs: the latest
// figures, the mean utilisation and the peak memory use.
type gpuTracker struct {
	byIndex map[int]*gpuTrack
	order   []int
}

type gpuTrack struct {
	last    fingerprint.Usage
	n       int
	utilSum float64
	peak    int64
}

func newGPUTracker() *gpuTracker { return &gpuTracker{byIndex: map[int]*gpuTrack{}} }

// add takes samples and reports whether the latest figures changed: a new
// sample that says the same as the last one is counted in the mean but not
// worth a report to the servers on its own (every report is a raft write).
func (t *gpuTracker) add(samples []fingerprint.Usage) bool {
	changed := false
	for _, u := range samples {
		if u.Time.IsZero() {
			continue // never sampled
		}
		tr := t.byIndex[u.Index]
		if tr == nil {
			tr = &gpuTrack{}
			t.byIndex[u.Index] = tr
			t.order = append(t.order, u.Index)
			slices.Sort(t.order)
		}
		if !u.Time.After(tr.last.Time) {
			continue
		}
		if tr.n == 0 || u.UtilizationPercent != tr.last.UtilizationPercent || u.MemoryUsedBytes != tr.last.MemoryUsedBytes {
			changed = true
		}
		tr.last = u
		tr.n++
		tr.utilSum += float64(u.UtilizationPercent)
		tr.peak = max(tr.peak, u.MemoryUsedBytes)
	}
	return changed
}

// values is what goes into ClientStatus.GPUUsage; nil before any sample.
func (t *gpuTracker) values() []structs.GPUUsage {
	if len(t.order) == 0 {
		return nil
	}
	out := make([]structs.GPUUsage, 0, len(t.order))
	for _, idx := range t.order {
		tr := t.byIndex[idx]
		mean := 0.0
		if tr.n > 0 {
			mean = float64(int(tr.utilSum/float64(tr.n)*10+0.5)) / 10
		}
		out = append(out, structs.GPUUsage{
			Index: idx, UUID: tr.last.UUID,
			UtilizationPercent: tr.last.UtilizationPercent, MemoryUsedBytes: tr.last.MemoryUsedBytes,
			MeanUtilization: mean, PeakMemoryBytes: tr.peak, Time: tr.last.Time,
		})
	}
	return out
}

// serveGPUFault is POST /v1/client/dev/gpu-fault {"fault": "2:xid=79"}:
// it injects a fault into a fake GPU of a dev agent, for tests and demos.
// A node with real GPUs answers 404: faults are never faked on hardware.
func (c *Client) serveGPUFault(w http.ResponseWriter, r *http.Request) {
	fm := c.cfg.Host.FakeMachine()
	if fm == nil {
		writeError(w, http.StatusNotFound, structs.NewError(structs.CodeNotFound,
			"gpu faults can be injected only into the fake gpus of a dev agent (nai agent -dev); this node has none"))
		return
	}
	var body struct {
		Fault string `json:"fault"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, structs.NewError(structs.CodeInvalid, `gpu fault: expected a JSON body {"fault": "2:xid=79"}: %v`, err))
		return
	}
	f, err := fingerprint.ParseFault(body.Fault)
	if err != nil {
		writeError(w, http.StatusBadRequest, structs.NewError(structs.CodeInvalid, "%v", err))
		return
	}
	if err := fm.Inject(f); err != nil {
		writeError(w, http.StatusBadRequest, structs.NewError(structs.CodeInvalid, "inject gpu fault %s: %v", f, err))
		return
	}
	c.gpuMu.Lock()
	m := c.monitor
	c.gpuMu.Unlock()
	if m != nil {
		// Lost GPUs and ECC counts are seen by sampling: look now rather
		// than at the next interval.
		m.Poll()
	}
	c.logger.Warn("dev: gpu fault injected", "fault", f.String())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(structs.GPUFaultInjected{Fault: f.String(), Time: time.Now().UTC()})
}
