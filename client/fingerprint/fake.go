//go:build cgo

package fingerprint

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

// mockGPUs are go-nvml's mock configs behind each fake model.
var mockGPUs = map[string]gpus.Config{
	"h100":      gpus.H100_SXM5_80GB,
	"h200":      gpus.H200_SXM5_141GB,
	"b200":      gpus.B200_SXM5_180GB,
	"a100":      gpus.A100_SXM4_80GB,
	"a100-pcie": gpus.A100_PCIE_80GB,
	"a30":       gpus.A30_PCIE_24GB,
}

// FakeMachine is a go-nvml mock machine with N GPUs, plus the knobs that tests
// and dev agents use to inject load and faults. Its Interface is handed to the
// same code that reads real NVML.
type FakeMachine struct {
	model string
	lib   *fakeNVML
	devs  []*fakeDevice

	mu   sync.Mutex
	sets map[*fakeEventSet]struct{}
}

// NewFakeMachine builds a machine of n GPUs (1..MaxFakeGPUs) modelled on model
// (see FakeModels; "" means DefaultFakeModel). seed is mixed into the UUIDs so
// that several dev agents on one host can have distinct GPUs; "" is fine.
func NewFakeMachine(model string, n int, seed string) (*FakeMachine, error) {
	model, fm, err := lookupFake(model, n)
	if err != nil {
		return nil, err
	}
	srv, err := server.New(
		server.WithGPUs(gpus.Multiple(n, mockGPUs[model])...),
		server.WithDriverVersion(fm.driver),
		server.WithNVMLVersion(fm.nvmlVersion),
		server.WithCUDADriverVersion(fm.cuda),
	)
	if err != nil {
		return nil, fmt.Errorf("build mock %s machine: %w", model, err)
	}
	m := &FakeMachine{model: model, sets: make(map[*fakeEventSet]struct{})}
	m.lib = &fakeNVML{Server: srv, m: m}
	for i, d := range srv.Devices {
		sd := d.(*server.Device)
		// The mock gives random UUIDs and a bus id that overflows past 255
		// GPUs; replace both with stable, well-formed ones.
		sd.UUID = fakeUUID(seed, model, i)
		sd.PciBusID = fakeBusID(i)
		m.devs = append(m.devs, &fakeDevice{Device: sd, m: m, topo: fm.topology})
	}
	return m, nil
}

// Interface is the nvml.Interface of the machine, for Fingerprint and
// NewMonitor.
func (m *FakeMachine) Interface() nvml.Interface { return m.lib }

// Model names the machine the fakes are modelled on.
func (m *FakeMachine) Model() string { return m.model }

// Len is the number of GPUs.
func (m *FakeMachine) Len() int { return len(m.devs) }

func (m *FakeMachine) device(index int) (*fakeDevice, error) {
	if index < 0 || index >= len(m.devs) {
		return nil, fmt.Errorf("fake gpu %d: expected an index from 0 to %d", index, len(m.devs)-1)
	}
	return m.devs[index], nil
}

// SetLost makes every later NVML call on the GPU fail with
// ERROR_GPU_IS_LOST, as when a GPU falls off the bus.
func (m *FakeMachine) SetLost(index int) error {
	d, err := m.device(index)
	if err != nil {
		return err
	}
	d.lost.Store(true)
	return nil
}

// SetUsage sets what the GPU reports as utilisation (percent) and memory used.
func (m *FakeMachine) SetUsage(index int, utilPercent int, memUsedBytes int64) error {
	d, err := m.device(index)
	if err != nil {
		return err
	}
	if utilPercent < 0 || utilPercent > 100 {
		return fmt.Errorf("fake gpu %d utilisation %d: expected 0 to 100", index, utilPercent)
	}
	if memUsedBytes < 0 || uint64(memUsedBytes) > d.total() {
		return fmt.Errorf("fake gpu %d memory used %d: expected 0 to %d bytes", index, memUsedBytes, d.total())
	}
	d.util.Store(uint32(utilPercent))
	d.memUsed.Store(uint64(memUsedBytes))
	return nil
}

// AddECCErrors adds n uncorrected (volatile) ECC errors to the GPU's counter.
func (m *FakeMachine) AddECCErrors(index int, n uint64) error {
	d, err := m.device(index)
	if err != nil {
		return err
	}
	d.eccUncorrected.Add(n)
	return nil
}

// InjectXID delivers an XID critical-error event for the GPU to every event
// set registered for it, as the driver would, and returns how many received
// it. An XID raised while nobody listens is lost, as on real hardware.
func (m *FakeMachine) InjectXID(index int, xid uint64) (int, error) {
	d, err := m.device(index)
	if err != nil {
		return 0, err
	}
	return m.deliver(nvml.EventData{Device: d, EventType: nvml.EventTypeXidCriticalError, EventData: xid}, index), nil
}

func (m *FakeMachine) deliver(ev nvml.EventData, index int) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for s := range m.sets {
		if s.wants(index, ev.EventType) && s.post(ev) {
			n++
		}
	}
	return n
}

// fakeNVML is the machine's nvml.Interface: go-nvml's mock server, with the
// device look-ups answering our fakeDevices and event sets that work.
type fakeNVML struct {
	*server.Server
	m *FakeMachine
}

func (l *fakeNVML) DeviceGetCount() (int, nvml.Return) { return len(l.m.devs), nvml.SUCCESS }

func (l *fakeNVML) DeviceGetHandleByIndex(index int) (nvml.Device, nvml.Return) {
	if index < 0 || index >= len(l.m.devs) {
		return nil, nvml.ERROR_INVALID_ARGUMENT
	}
	return l.m.devs[index], nvml.SUCCESS
}

func (l *fakeNVML) DeviceGetHandleByUUID(id string) (nvml.Device, nvml.Return) {
	for _, d := range l.m.devs {
		if d.Device.UUID == id {
			return d, nvml.SUCCESS
		}
	}
	return nil, nvml.ERROR_NOT_FOUND
}

func (l *fakeNVML) DeviceGetHandleByPciBusId(busID string) (nvml.Device, nvml.Return) {
	for _, d := range l.m.devs {
		if strings.EqualFold(d.Device.PciBusID, busID) {
			return d, nvml.SUCCESS
		}
	}
	return nil, nvml.ERROR_NOT_FOUND
}

func (l *fakeNVML) EventSetCreate() (nvml.EventSet, nvml.Return) {
	s := &fakeEventSet{m: l.m, ch: make(chan nvml.EventData, 64), done: make(chan struct{}), mask: make(map[int]uint64)}
	l.m.mu.Lock()
	l.m.sets[s] = struct{}{}
	l.m.mu.Unlock()
	return s, nvml.SUCCESS
}

// fakeDevice is one mock GPU. The calls the fingerprint and the monitor make
// are answered here (the mock leaves most unset, and records every call, which
// a sampler calling forever must not pile up); the rest fall through to
// go-nvml's mock device.
type fakeDevice struct {
	*server.Device
	m    *FakeMachine
	topo topology

	lost           atomic.Bool
	util           atomic.Uint32
	memUsed        atomic.Uint64
	eccUncorrected atomic.Uint64
}

func (d *fakeDevice) total() uint64 { return d.Device.Config.MemoryMB * 1024 * 1024 }

func (d *fakeDevice) GetUUID() (string, nvml.Return) {
	if d.lost.Load() {
		return "", nvml.ERROR_GPU_IS_LOST
	}
	return d.Device.UUID, nvml.SUCCESS
}

func (d *fakeDevice) GetName() (string, nvml.Return) {
	if d.lost.Load() {
		return "", nvml.ERROR_GPU_IS_LOST
	}
	return d.Device.Config.Name, nvml.SUCCESS
}

func (d *fakeDevice) GetIndex() (int, nvml.Return) {
	if d.lost.Load() {
		return 0, nvml.ERROR_GPU_IS_LOST
	}
	return d.Device.Index, nvml.SUCCESS
}

func (d *fakeDevice) GetMinorNumber() (int, nvml.Return) {
	if d.lost.Load() {
		return 0, nvml.ERROR_GPU_IS_LOST
	}
	return d.Device.Minor, nvml.SUCCESS
}

func (d *fakeDevice) GetMemoryInfo() (nvml.Memory, nvml.Return) {
	if d.lost.Load() {
		return nvml.Memory{}, nvml.ERROR_GPU_IS_LOST
	}
	total, used := d.total(), d.memUsed.Load()
	return nvml.Memory{Total: total, Used: used, Free: total - used}, nvml.SUCCESS
}

func (d *fakeDevice) GetPciInfo() (nvml.PciInfo, nvml.Return) {
	if d.lost.Load() {
		return nvml.PciInfo{}, nvml.ERROR_GPU_IS_LOST
	}
	i := d.Device.Index
	p := nvml.PciInfo{Domain: uint32(i / 256), Bus: uint32(i % 256), PciDeviceId: d.Device.Config.PciDeviceId}
	putCString(p.BusId[:], d.Device.PciBusID)
	putCString(p.BusIdLegacy[:], fmt.Sprintf("%04X:%02X:00.0", i/256, i%256))
	return p, nvml.SUCCESS
}

func (d *fakeDevice) GetMigMode() (int, int, nvml.Return) {
	if d.lost.Load() {
		return 0, 0, nvml.ERROR_GPU_IS_LOST
	}
	return d.Device.GetMigMode()
}

// GetP2PStatus answers the machine's documented NVLink topology.
func (d *fakeDevice) GetP2PStatus(other nvml.Device, caps nvml.GpuP2PCapsIndex) (nvml.GpuP2PStatus, nvml.Return) {
	if d.lost.Load() {
		return nvml.P2P_STATUS_UNKNOWN, nvml.ERROR_GPU_IS_LOST
	}
	o, ok := other.(*fakeDevice)
	if !ok || o.m != d.m {
		return nvml.P2P_STATUS_UNKNOWN, nvml.ERROR_INVALID_ARGUMENT
	}
	if caps != nvml.P2P_CAPS_INDEX_NVLINK {
		return nvml.P2P_STATUS_NOT_SUPPORTED, nvml.SUCCESS
	}
	if !d.topo.nvlinked(d.Device.Index, o.Device.Index) {
		return nvml.P2P_STATUS_NOT_SUPPORTED, nvml.SUCCESS
	}
	return nvml.P2P_STATUS_OK, nvml.SUCCESS
}

func (d *fakeDevice) GetUtilizationRates() (nvml.Utilization, nvml.Return) {
	if d.lost.Load() {
		return nvml.Utilization{}, nvml.ERROR_GPU_IS_LOST
	}
	u := d.util.Load()
	return nvml.Utilization{Gpu: u, Memory: u}, nvml.SUCCESS
}

func (d *fakeDevice) GetTotalEccErrors(errType nvml.MemoryErrorType, counter nvml.EccCounterType) (uint64, nvml.Return) {
	if d.lost.Load() {
		return 0, nvml.ERROR_GPU_IS_LOST
	}
	if errType != nvml.MEMORY_ERROR_TYPE_UNCORRECTED {
		return 0, nvml.SUCCESS
	}
	return d.eccUncorrected.Load(), nvml.SUCCESS
}

const fakeEventTypes = nvml.EventTypeXidCriticalError | nvml.EventTypeDoubleBitEccError | nvml.EventTypeSingleBitEccError

func (d *fakeDevice) GetSupportedEventTypes() (uint64, nvml.Return) {
	if d.lost.Load() {
		return 0, nvml.ERROR_GPU_IS_LOST
	}
	return fakeEventTypes, nvml.SUCCESS
}

func (d *fakeDevice) RegisterEvents(types uint64, set nvml.EventSet) nvml.Return {
	if d.lost.Load() {
		return nvml.ERROR_GPU_IS_LOST
	}
	s, ok := set.(*fakeEventSet)
	if !ok || s.m != d.m {
		return nvml.ERROR_INVALID_ARGUMENT
	}
	if types&^fakeEventTypes != 0 {
		return nvml.ERROR_NOT_SUPPORTED
	}
	d.m.mu.Lock()
	defer d.m.mu.Unlock()
	s.mask[d.Device.Index] |= types
	return nvml.SUCCESS
}

// fakeEventSet is an nvml.EventSet fed by FakeMachine.InjectXID. Methods the
// monitor does not use fall through to go-nvml's mock event set.
type fakeEventSet struct {
	mock.EventSet
	m    *FakeMachine
	ch   chan nvml.EventData
	done chan struct{}
	once sync.Once
	mask map[int]uint64 // guarded by m.mu
}

// wants reports whether the set is registered for the event; m.mu is held.
func (s *fakeEventSet) wants(index int, eventType uint64) bool {
	return s.mask[index]&eventType != 0
}

// post queues the event without blocking; a full set drops it, as NVML's
// bounded event queue would.
func (s *fakeEventSet) post(ev nvml.EventData) bool {
	select {
	case s.ch <- ev:
		return true
	default:
		return false
	}
}

func (s *fakeEventSet) Wait(timeoutMs uint32) (nvml.EventData, nvml.Return) {
	select {
	case ev := <-s.ch:
		return ev, nvml.SUCCESS
	case <-s.done:
		return nvml.EventData{}, nvml.ERROR_UNINITIALIZED
	default:
	}
	t := time.NewTimer(time.Duration(timeoutMs) * time.Millisecond)
	defer t.Stop()
	select {
	case ev := <-s.ch:
		return ev, nvml.SUCCESS
	case <-s.done:
		return nvml.EventData{}, nvml.ERROR_UNINITIALIZED
	case <-t.C:
		return nvml.EventData{}, nvml.ERROR_TIMEOUT
	}
}

func (s *fakeEventSet) Free() nvml.Return {
	s.once.Do(func() {
		close(s.done)
		s.m.mu.Lock()
		delete(s.m.sets, s)
		s.m.mu.Unlock()
	})
	return nvml.SUCCESS
}

// putCString writes s NUL-terminated into an NVML char array.
func putCString(dst []int8, s string) {
	n := min(len(s), len(dst)-1)
	for i := range n {
		dst[i] = int8(s[i])
	}
	dst[n] = 0
}
