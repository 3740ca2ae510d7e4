package fingerprint

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/nai-project/nai/structs"
)

// This file holds what does not depend on cgo, so that a binary built
// without it (no C compiler) still has the same API; see nvml_nocgo.go.

const (
	// MaxFakeGPUs bounds a fake machine; more is certainly a typo.
	MaxFakeGPUs = 1024
	// DefaultFakeModel is the machine fakes are modelled on when none is named.
	DefaultFakeModel = "h100"
	// DefaultDevGPUs is how many fake GPUs a dev agent gets when NVML finds none.
	DefaultDevGPUs = 4
	// DefaultMonitorInterval is how often the monitor samples when not told.
	DefaultMonitorInterval = 5 * time.Second
)

// topology of a fake machine: which GPUs NVLink joins.
type topology int

const (
	// nvswitchBoards: all-to-all NVLink through NVSwitch within each board of
	// 8 GPUs (indices 8k..8k+7), as on a DGX/HGX; no NVLink between boards.
	nvswitchBoards topology = iota
	// bridgedPairs: NVLink bridges join GPUs 2k and 2k+1, as on PCIe cards.
	bridgedPairs
)

// boardSize is the number of GPUs one NVSwitch board joins.
const boardSize = 8

// nvlinked reports whether the topology joins GPUs a and b.
func (t topology) nvlinked(a, b int) bool {
	if a == b {
		return false
	}
	switch t {
	case nvswitchBoards:
		return a/boardSize == b/boardSize
	case bridgedPairs:
		return a/2 == b/2
	}
	return false
}

// fakeModel is one machine that fake GPUs can be modelled on. The GPU name
// and memory repeat go-nvml's mock configs (a test checks they agree), so
// that a build without cgo shows the same fakes.
type fakeModel struct {
	name        string // as NVML reports it
	memoryMB    uint64
	driver      string
	nvmlVersion string
	cuda        int // as NVML reports it: 12040 is 12.4
	topology    topology
}

var fakeModels = map[string]fakeModel{
	"h100":      {"NVIDIA H100 80GB HBM3", 81920, "550.54.15", "12.550.54.15", 12040, nvswitchBoards},
	"h200":      {"NVIDIA H200 141GB HBM3e", 144384, "550.54.15", "12.550.54.15", 12040, nvswitchBoards},
	"b200":      {"NVIDIA B200 180GB HBM3e", 184320, "560.28.03", "12.560.28.03", 12060, nvswitchBoards},
	"a100":      {"NVIDIA A100-SXM4-80GB", 81920, "550.54.15", "12.550.54.15", 12040, nvswitchBoards},
	"a100-pcie": {"NVIDIA A100-PCIE-80GB", 81920, "550.54.15", "12.550.54.15", 12040, bridgedPairs},
	"a30":       {"NVIDIA A30-PCIE-24GB", 24576, "550.54.15", "12.550.54.15", 12040, bridgedPairs},
}

// FakeModels lists the names accepted as Options.DevModel.
func FakeModels() []string {
	names := make([]string, 0, len(fakeModels))
	for name := range fakeModels {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// lookupFake checks a fake machine request and returns its canonical model
// name and description.
func lookupFake(model string, n int) (string, fakeModel, error) {
	if model == "" {
		model = DefaultFakeModel
	}
	model = strings.ToLower(model)
	fm, ok := fakeModels[model]
	if !ok {
		return "", fakeModel{}, fmt.Errorf("fake gpu model %q: expected one of %s", model, strings.Join(FakeModels(), ", "))
	}
	if n < 1 || n > MaxFakeGPUs {
		return "", fakeModel{}, fmt.Errorf("fake gpu count %d: expected 1 to %d", n, MaxFakeGPUs)
	}
	return model, fm, nil
}

// uuidSpace makes fake GPU UUIDs name-based: the same seed, model and index
// always give the same UUID, so a restarted dev agent sees the same GPUs.
var uuidSpace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/nai-project/nai/fake-gpu"))

func fakeUUID(seed, model string, index int) string {
	return "GPU-" + uuid.NewSHA1(uuidSpace, fmt.Appendf(nil, "%s/%s/%d", seed, model, index)).String()
}

// fakeBusID is a well-formed NVML PCI bus id, unique up to 65536 GPUs.
func fakeBusID(index int) string {
	return fmt.Sprintf("%08X:%02X:00.0", index/256, index%256)
}

// cudaVersion formats NVML's CUDA driver version (12040) as "12.4".
func cudaVersion(v int) string {
	if v <= 0 {
		return ""
	}
	return fmt.Sprintf("%d.%d", v/1000, (v%1000)/10)
}

// MonitorOptions tunes a Monitor.
type MonitorOptions struct {
	Interval time.Duration // between samples; DefaultMonitorInterval when 0
	Logger   *slog.Logger
}

// Usage is one sample of one GPU.
type Usage struct {
	Index              int       `json:"index"`
	UUID               string    `json:"uuid"`
	UtilizationPercent int       `json:"utilization_percent"`
	MemoryUsedBytes    int64     `json:"memory_used_bytes"`
	MemoryTotalBytes   int64     `json:"memory_total_bytes"`
	Time               time.Time `json:"time,omitzero"`
}

// HealthChange says that a GPU became unhealthy, and why.
type HealthChange struct {
	Index   int
	UUID    string
	Healthy bool
	Reason  string
	Time    time.Time
}

// cloneGPUs deep-copies GPUs so callers cannot change the monitor's state.
func cloneGPUs(gpus []structs.GPU) []structs.GPU {
	out := slices.Clone(gpus)
	for i := range out {
		out[i].NVLinkPeers = slices.Clone(out[i].NVLinkPeers)
	}
	return out
}
