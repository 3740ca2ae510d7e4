//go:build !cgo

package fingerprint

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nai-project/nai/structs"
)

// go-nvml loads libnvidia-ml through cgo, so a binary built without a C
// compiler cannot read GPUs. It still runs: real hosts report no GPUs with a
// reason, and dev agents get fakes with the same identities and topology as
// the mock machines, without their NVML behaviour (no load, no faults).

// errNoCGO explains the limits of this build.
var errNoCGO = errors.New("this nai binary was built without cgo, so it cannot load libnvidia-ml.so.1; rebuild with CGO_ENABLED=1 and a C compiler")

type nvmlLib = any // always nil: there is no NVML

func (h *Host) fingerprintNVML() error { return errNoCGO }

func (h *Host) fingerprintFake(opts Options) error {
	fm, err := NewFakeMachine(opts.DevModel, opts.DevGPUs, opts.DevSeed)
	if err != nil {
		return err
	}
	h.Fake, h.fake = true, fm
	h.minors = make(map[int]int, fm.n)
	for i := range fm.n {
		g := structs.GPU{
			Index:       i,
			UUID:        fakeUUID(opts.DevSeed, fm.model, i),
			Model:       fm.fm.name,
			MemoryBytes: int64(fm.fm.memoryMB) << 20,
			PCIBusID:    fakeBusID(i),
			Healthy:     true,
		}
		for j := range fm.n {
			if fm.fm.topology.nvlinked(i, j) {
				g.NVLinkPeers = append(g.NVLinkPeers, j)
			}
		}
		h.GPUs = append(h.GPUs, g)
		h.minors[i] = i
	}
	h.Driver, h.CUDAVersion = fm.fm.driver, cudaVersion(fm.fm.cuda)
	return nil
}

// FakeMachine describes fake GPUs; without cgo it cannot inject faults.
type FakeMachine struct {
	model string
	fm    fakeModel
	n     int
}

// NewFakeMachine checks the request as the cgo build does.
func NewFakeMachine(model string, n int, seed string) (*FakeMachine, error) {
	model, fm, err := lookupFake(model, n)
	if err != nil {
		return nil, err
	}
	return &FakeMachine{model: model, fm: fm, n: n}, nil
}

func (m *FakeMachine) Model() string { return m.model }
func (m *FakeMachine) Len() int      { return m.n }

func (m *FakeMachine) SetLost(index int) error { return fmt.Errorf("fake gpu %d: %w", index, errNoCGO) }
func (m *FakeMachine) SetUsage(index int, utilPercent int, memUsedBytes int64) error {
	return fmt.Errorf("fake gpu %d: %w", index, errNoCGO)
}
func (m *FakeMachine) AddECCErrors(index int, n uint64) error {
	return fmt.Errorf("fake gpu %d: %w", index, errNoCGO)
}
func (m *FakeMachine) InjectXID(index int, xid uint64) (int, error) {
	return 0, fmt.Errorf("fake gpu %d: %w", index, errNoCGO)
}

// Monitor without cgo watches nothing: the GPUs keep their fingerprinted
// health and report no usage.
type Monitor struct {
	gpus    []structs.GPU
	changes chan HealthChange
	once    sync.Once
}

func NewMonitor(h *Host, opts MonitorOptions) *Monitor {
	return &Monitor{gpus: h.GPUs, changes: make(chan HealthChange)}
}

func (m *Monitor) Start(ctx context.Context) error { return nil }
func (m *Monitor) Stop()                           { close(m.changes) }
func (m *Monitor) Poll()                           {}
func (m *Monitor) Changes() <-chan HealthChange    { return m.changes }
func (m *Monitor) Usage() []Usage                  { return nil }
func (m *Monitor) GPUs() []structs.GPU             { return cloneGPUs(m.gpus) }
