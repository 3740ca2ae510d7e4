//go:build cgo

package fingerprint

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/nai-project/nai/structs"
)

// eventWaitMs bounds one blocking wait for NVML events, so Stop returns soon.
const eventWaitMs = 200

// watchedEvents are the NVML events that can make a GPU unhealthy.
const watchedEvents = nvml.EventTypeXidCriticalError | nvml.EventTypeDoubleBitEccError

// lostReturns are NVML answers that mean the device itself is gone or broken.
var lostReturns = []nvml.Return{nvml.ERROR_GPU_IS_LOST, nvml.ERROR_RESET_REQUIRED, nvml.ERROR_GPU_NOT_FOUND}

// Monitor samples each GPU's utilisation and memory use and watches its
// health (XID and double-bit ECC events, growing uncorrected ECC counts, NVML
// calls answering "GPU is lost"). A GPU that fails is marked Healthy=false
// with a reason, once: it stays unhealthy until the agent restarts, because
// a failed GPU needs a reset before it can be trusted again.
type Monitor struct {
	lib      nvml.Interface
	logger   *slog.Logger
	interval time.Duration
	changes  chan HealthChange

	mu      sync.Mutex
	gpus    []structs.GPU
	devs    []nvml.Device // nil where no handle could be had
	usage   []Usage
	eccBase []uint64
	eccOK   []bool
	set     nvml.EventSet
	closed  bool // changes is closed

	started     bool
	initialized bool // holds an NVML reference to release
	stopOnce    sync.Once
	cancel      context.CancelFunc
	wg          sync.WaitGroup
}

// newMonitor watches gpus (as a fingerprint of lib reported them).
func newMonitor(lib nvml.Interface, gpus []structs.GPU, opts MonitorOptions) *Monitor {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	interval := opts.Interval
	if interval <= 0 {
		interval = DefaultMonitorInterval
	}
	m := &Monitor{
		lib:      lib,
		logger:   logger,
		interval: interval,
		// Each GPU changes at most once (healthy to unhealthy), so a buffer
		// of one per GPU never blocks the monitor on a slow reader.
		changes: make(chan HealthChange, len(gpus)),
		gpus:    cloneGPUs(gpus),
		devs:    make([]nvml.Device, len(gpus)),
		usage:   make([]Usage, len(gpus)),
		eccBase: make([]uint64, len(gpus)),
		eccOK:   make([]bool, len(gpus)),
	}
	for i, g := range m.gpus {
		m.usage[i] = Usage{Index: g.Index, UUID: g.UUID, MemoryTotalBytes: g.MemoryBytes}
	}
	return m
}

// Start and Stop must not be called concurrently with each other.

// Start takes its own NVML reference, finds the devices, registers for
// events, takes a first sample and starts sampling every interval until ctx
// ends or Stop is called.
func (m *Monitor) Start(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closed:
		return errors.New("gpu monitor: start after stop")
	case m.started:
		return errors.New("gpu monitor: already started")
	}
	m.started = true
	if m.lib == nil {
		// No NVML on this host: nothing to watch.
		return nil
	}
	if ret := m.lib.Init(); ret != nvml.SUCCESS {
		return fmt.Errorf("gpu monitor: nvml init: %w", ret)
	}
	m.initialized = true
	// The lock is released while NVML is first read: those calls take it.
	m.mu.Unlock()
	m.resolve()
	m.registerEvents()
	m.Poll()
	m.mu.Lock()

	ctx, m.cancel = context.WithCancel(ctx)
	m.wg.Add(1)
	go m.sampleLoop(ctx)
	if m.set != nil {
		m.wg.Add(1)
		go m.eventLoop(ctx)
	}
	return nil
}

// Stop ends sampling, frees the event set and releases NVML. The channel of
// Changes is closed once nothing more can be sent on it.
func (m *Monitor) Stop() {
	m.stopOnce.Do(func() {
		m.mu.Lock()
		cancel := m.cancel
		m.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		m.wg.Wait()
		m.mu.Lock()
		initialized := m.initialized
		set := m.set
		m.set = nil
		m.mu.Unlock()
		if set != nil {
			set.Free()
		}
		if initialized {
			m.lib.Shutdown()
		}
		m.mu.Lock()
		m.closed = true
		close(m.changes)
		m.mu.Unlock()
	})
}

// Changes delivers each GPU's change to unhealthy, once per GPU.
func (m *Monitor) Changes() <-chan HealthChange { return m.changes }

// GPUs is the GPUs with their current health.
func (m *Monitor) GPUs() []structs.GPU {
	m.mu.Lock()
	defer m.mu.Unlock()
	return cloneGPUs(m.gpus)
}

// Usage is the latest sample of every GPU.
func (m *Monitor) Usage() []Usage {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.usage)
}

// resolve finds each healthy GPU's handle by UUID: indices can move between
// boots, UUIDs cannot.
func (m *Monitor) resolve() {
	for i := range m.gpus {
		g := m.gpus[i]
		if !g.Healthy {
			continue
		}
		d, ret := m.lib.DeviceGetHandleByUUID(g.UUID)
		if ret != nvml.SUCCESS {
			m.markUnhealthy(i, fmt.Sprintf("nvml: device %s: %v", g.UUID, ret))
			continue
		}
		m.devs[i] = d
		if n, ret := d.GetTotalEccErrors(nvml.MEMORY_ERROR_TYPE_UNCORRECTED, nvml.VOLATILE_ECC); ret == nvml.SUCCESS {
			m.eccBase[i], m.eccOK[i] = n, true
		}
	}
}

// registerEvents asks NVML for XID and double-bit ECC events of every GPU
// that supports them; without them the monitor still polls.
func (m *Monitor) registerEvents() {
	set, ret := m.lib.EventSetCreate()
	if ret != nvml.SUCCESS {
		m.logger.Warn("gpu monitor: no nvml events, polling only", "error", ret.Error())
		return
	}
	registered := 0
	for i, d := range m.devs {
		if d == nil {
			continue
		}
		supported, ret := d.GetSupportedEventTypes()
		if ret != nvml.SUCCESS {
			m.logger.Debug("gpu monitor: event types", "gpu", m.gpus[i].Index, "error", ret.Error())
			continue
		}
		want := supported & watchedEvents
		if want == 0 {
			continue
		}
		if ret := d.RegisterEvents(want, set); ret != nvml.SUCCESS {
			m.logger.Warn("gpu monitor: register events", "gpu", m.gpus[i].Index, "error", ret.Error())
			continue
		}
		registered++
	}
	if registered == 0 {
		set.Free()
		return
	}
	m.mu.Lock()
	m.set = set
	m.mu.Unlock()
}

// Poll takes one sample of every healthy GPU now. The monitor calls it every
// interval; callers that need a fresh figure may call it too.
func (m *Monitor) Poll() {
	now := time.Now()
	for i := range m.gpus {
		m.mu.Lock()
		d, healthy := m.devs[i], m.gpus[i].Healthy
		m.mu.Unlock()
		if d == nil || !healthy {
			continue
		}
		m.sample(i, d, now)
	}
}

func (m *Monitor) sample(i int, d nvml.Device, now time.Time) {
	u := Usage{Index: m.gpus[i].Index, UUID: m.gpus[i].UUID, MemoryTotalBytes: m.gpus[i].MemoryBytes, Time: now}
	util, ret := d.GetUtilizationRates()
	if m.failed(i, "utilization", ret) {
		return
	}
	if ret == nvml.SUCCESS {
		u.UtilizationPercent = int(util.Gpu)
	}
	mem, ret := d.GetMemoryInfo()
	if m.failed(i, "memory info", ret) {
		return
	}
	if ret == nvml.SUCCESS {
		u.MemoryUsedBytes, u.MemoryTotalBytes = int64(mem.Used), int64(mem.Total)
	}
	ecc, ret := d.GetTotalEccErrors(nvml.MEMORY_ERROR_TYPE_UNCORRECTED, nvml.VOLATILE_ECC)
	if m.failed(i, "ecc errors", ret) {
		return
	}
	m.mu.Lock()
	m.usage[i] = u
	base, ok := m.eccBase[i], m.eccOK[i]
	m.mu.Unlock()
	if ret == nvml.SUCCESS && ok && ecc > base {
		m.markUnhealthy(i, fmt.Sprintf("ecc: %d uncorrected errors since the agent started", ecc-base))
	}
}

// failed marks the GPU unhealthy when ret says the device is lost, and
// reports whether it did; other errors (NOT_SUPPORTED in MIG mode, say)
// leave that figure at zero.
func (m *Monitor) failed(i int, what string, ret nvml.Return) bool {
	if !slices.Contains(lostReturns, ret) {
		if ret != nvml.SUCCESS && ret != nvml.ERROR_NOT_SUPPORTED {
			m.logger.Debug("gpu monitor: sample", "gpu", m.gpus[i].Index, "what", what, "error", ret.Error())
		}
		return false
	}
	m.markUnhealthy(i, fmt.Sprintf("gpu lost: %s: %v", what, ret))
	return true
}

func (m *Monitor) sampleLoop(ctx context.Context) {
	defer m.wg.Done()
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.Poll()
		}
	}
}

func (m *Monitor) eventLoop(ctx context.Context) {
	defer m.wg.Done()
	for ctx.Err() == nil {
		ev, ret := m.set.Wait(eventWaitMs)
		switch ret {
		case nvml.SUCCESS:
			m.handleEvent(ev)
		case nvml.ERROR_TIMEOUT:
		default:
			if ctx.Err() != nil {
				return
			}
			// Wait fails for a lost GPU too; polling finds which. Back off
			// so a broken event set does not spin.
			m.logger.Warn("gpu monitor: wait for nvml events", "error", ret.Error())
			select {
			case <-ctx.Done():
			case <-time.After(m.interval):
			}
		}
	}
}

func (m *Monitor) handleEvent(ev nvml.EventData) {
	var reason string
	switch {
	case ev.EventType&nvml.EventTypeXidCriticalError != 0:
		if !xidCritical(ev.EventData) {
			m.logger.Info("gpu monitor: application xid, gpu stays healthy", "xid", ev.EventData)
			return
		}
		reason = xidReason(ev.EventData)
	case ev.EventType&nvml.EventTypeDoubleBitEccError != 0:
		reason = "double-bit ECC error"
	default:
		return
	}
	i := m.indexOf(ev.Device)
	if i < 0 {
		// NVML could not say which GPU: trust none of them.
		for j := range m.gpus {
			m.markUnhealthy(j, reason+" (device unknown)")
		}
		return
	}
	m.markUnhealthy(i, reason)
}

// indexOf finds the position of an event's device, -1 when unknown.
func (m *Monitor) indexOf(d nvml.Device) int {
	if d == nil {
		return -1
	}
	for i, h := range m.devs {
		if h != nil && h == d {
			return i
		}
	}
	if id, ret := d.GetUUID(); ret == nvml.SUCCESS {
		for i, g := range m.gpus {
			if g.UUID == id {
				return i
			}
		}
	}
	return -1
}

func (m *Monitor) markUnhealthy(i int, reason string) {
	m.mu.Lock()
	g := &m.gpus[i]
	if !g.Healthy {
		m.mu.Unlock()
		return
	}
	g.Healthy, g.Unhealthy = false, reason
	c := HealthChange{Index: g.Index, UUID: g.UUID, Healthy: false, Reason: reason, Time: time.Now()}
	if !m.closed {
		m.changes <- c // never blocks: one slot per GPU
	}
	m.mu.Unlock()
	m.logger.Warn("gpu unhealthy", "gpu", c.Index, "uuid", c.UUID, "reason", reason)
}
