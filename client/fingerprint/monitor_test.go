//go:build cgo

package fingerprint

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/nai-project/nai/structs"
)

// waitTimeout bounds every wait for a condition; it is never slept.
const waitTimeout = 10 * time.Second

// startMonitor fingerprints n fake GPUs and starts a monitor on them. With
// an interval of an hour only explicit Polls sample, so tests are exact.
func startMonitor(t *testing.T, n int, interval time.Duration) (*Host, *Monitor) {
	t.Helper()
	h, err := Fingerprint(Options{DevGPUs: n, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Fingerprint: %v", err)
	}
	m := NewMonitor(h, MonitorOptions{Interval: interval, Logger: testLogger(t)})
	if err := m.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(m.Stop)
	return h, m
}

// nextChange waits for the monitor's next health change.
func nextChange(t *testing.T, m *Monitor) HealthChange {
	t.Helper()
	select {
	case c, ok := <-m.Changes():
		if !ok {
			t.Fatal("Changes closed")
		}
		return c
	case <-time.After(waitTimeout):
		t.Fatalf("no health change within %v", waitTimeout)
	}
	return HealthChange{}
}

func healthy(m *Monitor) []bool {
	var out []bool
	for _, g := range m.GPUs() {
		out = append(out, g.Healthy)
	}
	return out
}

func TestMonitorFaults(t *testing.T) {
	tests := []struct {
		name       string
		inject     func(t *testing.T, fm *FakeMachine, m *Monitor)
		wantGPU    int
		wantReason string
	}{
		{
			name: "gpu lost",
			inject: func(t *testing.T, fm *FakeMachine, m *Monitor) {
				if err := fm.SetLost(2); err != nil {
					t.Fatal(err)
				}
				m.Poll()
			},
			wantGPU:    2,
			wantReason: "gpu lost: utilization: ERROR_GPU_IS_LOST",
		},
		{
			name: "xid 79",
			inject: func(t *testing.T, fm *FakeMachine, m *Monitor) {
				if n, err := fm.InjectXID(1, 79); err != nil || n != 1 {
					t.Fatalf("InjectXID = %d, %v; want it delivered to the monitor", n, err)
				}
			},
			wantGPU:    1,
			wantReason: "xid 79: GPU has fallen off the bus",
		},
		{
			name: "application xid does not count",
			inject: func(t *testing.T, fm *FakeMachine, m *Monitor) {
				// Events arrive in order: if XID 13 on GPU 0 counted, its
				// change would come before the one of GPU 3.
				for _, x := range []struct{ gpu, xid int }{{0, 13}, {0, 31}, {3, 48}} {
					if _, err := fm.InjectXID(x.gpu, uint64(x.xid)); err != nil {
						t.Fatal(err)
					}
				}
			},
			wantGPU:    3,
			wantReason: "xid 48: double-bit ECC error",
		},
		{
			name: "uncorrected ecc errors",
			inject: func(t *testing.T, fm *FakeMachine, m *Monitor) {
				if err := fm.AddECCErrors(1, 2); err != nil {
					t.Fatal(err)
				}
				m.Poll()
			},
			wantGPU:    1,
			wantReason: "ecc: 2 uncorrected errors since the agent started",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, m := startMonitor(t, 4, time.Hour)
			tt.inject(t, h.FakeMachine(), m)
			c := nextChange(t, m)
			if c.Index != tt.wantGPU || c.Healthy || c.Reason != tt.wantReason || c.UUID != h.GPUs[tt.wantGPU].UUID {
				t.Errorf("change = %+v, want gpu %d unhealthy with reason %q", c, tt.wantGPU, tt.wantReason)
			}
			for i, ok := range healthy(m) {
				if ok != (i != tt.wantGPU) {
					t.Errorf("gpu %d Healthy = %v after a fault on gpu %d", i, ok, tt.wantGPU)
				}
			}
			if got := m.GPUs()[tt.wantGPU].Unhealthy; got != tt.wantReason {
				t.Errorf("Unhealthy = %q, want %q", got, tt.wantReason)
			}
			// A second fault on the same GPU is not a second change.
			if _, err := h.FakeMachine().InjectXID(tt.wantGPU, 79); err != nil {
				t.Fatal(err)
			}
			m.Poll()
			m.Stop()
			for c := range m.Changes() {
				t.Errorf("unexpected second change %+v", c)
			}
			if !h.GPUs[tt.wantGPU].Healthy {
				t.Error("the monitor changed the Host's own GPU slice")
			}
		})
	}
}

func TestMonitorUsage(t *testing.T) {
	h, m := startMonitor(t, 2, time.Hour)
	if err := h.FakeMachine().SetUsage(1, 75, 10<<30); err != nil {
		t.Fatal(err)
	}
	m.Poll()
	u := m.Usage()
	if len(u) != 2 {
		t.Fatalf("got %d samples, want 2", len(u))
	}
	if u[0].UtilizationPercent != 0 || u[0].MemoryUsedBytes != 0 || u[0].MemoryTotalBytes != 80<<30 {
		t.Errorf("gpu 0 = %+v, want idle with 80 GiB", u[0])
	}
	if u[1].UtilizationPercent != 75 || u[1].MemoryUsedBytes != 10<<30 || u[1].UUID != h.GPUs[1].UUID || u[1].Time.IsZero() {
		t.Errorf("gpu 1 = %+v, want 75%% and 10 GiB used", u[1])
	}
}

func TestMonitorSamplesOnItsOwn(t *testing.T) {
	h, m := startMonitor(t, 2, 5*time.Millisecond)
	if err := h.FakeMachine().SetUsage(0, 40, 1<<30); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(waitTimeout)
	for m.Usage()[0].UtilizationPercent != 40 {
		if time.Now().After(deadline) {
			t.Fatalf("usage never sampled: %+v", m.Usage()[0])
		}
		time.Sleep(time.Millisecond) // polling a condition, not waiting a fixed time
	}
	if err := h.FakeMachine().SetLost(1); err != nil {
		t.Fatal(err)
	}
	if c := nextChange(t, m); c.Index != 1 || !strings.HasPrefix(c.Reason, "gpu lost") {
		t.Errorf("change = %+v, want gpu 1 lost", c)
	}
}

func TestMonitorStop(t *testing.T) {
	h, m := startMonitor(t, 2, time.Millisecond)
	m.Stop()
	m.Stop() // twice is harmless
	if _, ok := <-m.Changes(); ok {
		t.Error("Changes still open after Stop")
	}
	// Faults after Stop reach nobody and panic nothing.
	if n, err := h.FakeMachine().InjectXID(0, 79); err != nil || n != 0 {
		t.Errorf("InjectXID after Stop = %d, %v; want delivered to none", n, err)
	}
	if err := h.FakeMachine().SetLost(0); err != nil {
		t.Fatal(err)
	}
	m.Poll()
	if err := m.Start(context.Background()); err == nil {
		t.Error("Start after Stop: want an error")
	}
}

func TestMonitorWithoutNVML(t *testing.T) {
	h := &Host{}
	m := NewMonitor(h, MonitorOptions{})
	if err := m.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	m.Poll()
	m.Stop()
	if len(m.GPUs()) != 0 || len(m.Usage()) != 0 {
		t.Errorf("GPUs=%v Usage=%v, want nothing", m.GPUs(), m.Usage())
	}
}

func TestMonitorGPULostBeforeStart(t *testing.T) {
	h, err := Fingerprint(Options{DevGPUs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.FakeMachine().SetLost(0); err != nil {
		t.Fatal(err)
	}
	m := NewMonitor(h, MonitorOptions{Interval: time.Hour})
	if err := m.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer m.Stop()
	if c := nextChange(t, m); c.Index != 0 || !strings.Contains(c.Reason, "ERROR_GPU_IS_LOST") {
		t.Errorf("change = %+v, want gpu 0 lost", c)
	}
}

func TestMonitorInjectedFault(t *testing.T) {
	h, m := startMonitor(t, 4, time.Hour)
	f, err := ParseFault("3:xid=79")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.FakeMachine().Inject(f); err != nil {
		t.Fatalf("Inject: %v", err)
	}
	if c := nextChange(t, m); c.Index != 3 || c.Reason != "xid 79: GPU has fallen off the bus" {
		t.Errorf("change = %+v, want gpu 3 withdrawn by xid 79", c)
	}
	if err := h.FakeMachine().Inject(Fault{GPU: 9, Kind: "lost"}); err == nil {
		t.Error("Inject on gpu 9 of 4: want an error")
	}
}

// brokenNVML is a fake machine whose Init fails, counting Shutdowns.
type brokenNVML struct {
	nvml.Interface
	shutdowns int
}

func (b *brokenNVML) Init() nvml.Return     { return nvml.ERROR_DRIVER_NOT_LOADED }
func (b *brokenNVML) Shutdown() nvml.Return { b.shutdowns++; return nvml.SUCCESS }

func TestNVMLInitFails(t *testing.T) {
	fm, err := NewFakeMachine("h100", 2, "")
	if err != nil {
		t.Fatal(err)
	}
	lib := &brokenNVML{Interface: fm.Interface()}
	h := &Host{}
	if err := h.readNVML(lib); err == nil || err.Error() != "nvml init: ERROR_DRIVER_NOT_LOADED" {
		t.Errorf("readNVML = %v, want nvml init: ERROR_DRIVER_NOT_LOADED", err)
	}
	m := newMonitor(lib, []structs.GPU{{Index: 0, UUID: "GPU-x", Healthy: true}}, MonitorOptions{})
	if err := m.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "ERROR_DRIVER_NOT_LOADED") {
		t.Errorf("Start = %v, want the init error", err)
	}
	m.Stop()
	if lib.shutdowns != 0 {
		t.Errorf("Stop called Shutdown %d times after a failed Init, want 0", lib.shutdowns)
	}
}

func TestMonitorStartAfterStop(t *testing.T) {
	h, err := Fingerprint(Options{DevGPUs: 1})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMonitor(h, MonitorOptions{})
	m.Stop()
	if err := m.Start(t.Context()); err == nil {
		t.Error("Start of a stopped monitor: want an error")
	}
}
