package fingerprint

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"

	"github.com/nai-project/nai/structs"
)

// Options says where the GPUs come from.
type Options struct {
	DevGPUs  int    // > 0: use N fake GPUs from a go-nvml mock machine; 0: real NVML
	DevModel string // which mock machine the fakes are modelled on (FakeModels); "" is h100
	// DevSeed is mixed into fake GPU UUIDs. Fakes are stable for a given
	// model, seed and index; agents sharing a host should use distinct seeds.
	DevSeed string
	Logger  *slog.Logger
}

// Host is what the client registers about its machine.
type Host struct {
	CPU         float64 // logical CPUs this process may use
	MemoryBytes int64
	Hostname    string
	OS          string // kernel name, "Linux"
	Kernel      string // kernel release
	GPUs        []structs.GPU
	Driver      string
	CUDAVersion string
	Fake        bool
	NVMLError   string // why real NVML was not usable; "" when it was or when fakes were asked for

	lib    nvmlLib // nil when NVML was not usable
	fake   *FakeMachine
	minors map[int]int // GPU index -> /dev/nvidiaN minor
}

// FakeMachine is the mock machine behind fake GPUs, for injecting load and
// faults; nil on a real host.
func (h *Host) FakeMachine() *FakeMachine { return h.fake }

// DeviceMinor is the minor number of /dev/nvidiaN for the GPU with the given
// index, for the cgroup device rules. For fake GPUs it equals the index.
func (h *Host) DeviceMinor(index int) (int, error) {
	m, ok := h.minors[index]
	if !ok {
		return 0, fmt.Errorf("gpu %d: this host has no such gpu (it has %d)", index, len(h.GPUs))
	}
	if m < 0 {
		return 0, fmt.Errorf("gpu %d: nvml did not report its device minor number", index)
	}
	return m, nil
}

// DevicePath is /dev/nvidiaN for the GPU with the given index.
func (h *Host) DevicePath(index int) (string, error) {
	m, err := h.DeviceMinor(index)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("/dev/nvidia%d", m), nil
}

// Fingerprint reads the host. With opts.DevGPUs > 0 its GPUs are fakes from a
// go-nvml mock machine; otherwise they come from real NVML. A host without
// NVML is not an error: it has no GPUs and NVMLError says why.
func Fingerprint(opts Options) (*Host, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.DevGPUs < 0 {
		return nil, fmt.Errorf("fake gpu count %d: expected 0 (real NVML) or 1 to %d", opts.DevGPUs, MaxFakeGPUs)
	}
	h, err := readHost()
	if err != nil {
		return nil, err
	}
	if opts.DevGPUs > 0 {
		if err := h.fingerprintFake(opts); err != nil {
			return nil, err
		}
		logger.Info("fingerprint: fake gpus", "count", len(h.GPUs), "model", h.modelName(), "mock", h.fake.Model())
		return h, nil
	}
	if err := h.fingerprintNVML(); err != nil {
		h.NVMLError = err.Error()
		h.GPUs, h.lib, h.minors = nil, nil, nil
		logger.Warn("fingerprint: no gpus", "reason", h.NVMLError)
		return h, nil
	}
	logger.Info("fingerprint: gpus", "count", len(h.GPUs), "model", h.modelName(), "driver", h.Driver, "cuda", h.CUDAVersion)
	return h, nil
}

// FingerprintDev is the fingerprint of `nai agent -dev`: devGPUs > 0 asks for
// that many fakes; devGPUs == 0 for real NVML only; devGPUs < 0 (the default)
// for real NVML when it finds GPUs, else DefaultDevGPUs fakes, keeping
// NVMLError to say why.
func FingerprintDev(devGPUs int, logger *slog.Logger) (*Host, error) {
	return FingerprintDevOptions(Options{DevGPUs: devGPUs, Logger: logger})
}

// FingerprintDevOptions is FingerprintDev with a fake model and seed;
// opts.DevGPUs < 0 means the default as above.
func FingerprintDevOptions(opts Options) (*Host, error) {
	if opts.DevGPUs >= 0 {
		return Fingerprint(opts)
	}
	realOpts := opts
	realOpts.DevGPUs = 0
	h, err := Fingerprint(realOpts)
	if err != nil {
		return nil, err
	}
	if len(h.GPUs) > 0 {
		return h, nil
	}
	why := h.NVMLError
	if why == "" {
		why = "nvml found no gpus"
	}
	fakeOpts := opts
	fakeOpts.DevGPUs = DefaultDevGPUs
	h, err = Fingerprint(fakeOpts)
	if err != nil {
		return nil, err
	}
	h.NVMLError = why
	return h, nil
}

func (h *Host) modelName() string {
	if len(h.GPUs) == 0 {
		return ""
	}
	return h.GPUs[0].Model
}

// readHost reads everything but the GPUs.
func readHost() (*Host, error) {
	mem, err := memTotal()
	if err != nil {
		return nil, fmt.Errorf("fingerprint: %w", err)
	}
	name, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("fingerprint: hostname: %w", err)
	}
	osName, kernel, err := unameInfo()
	if err != nil {
		return nil, fmt.Errorf("fingerprint: %w", err)
	}
	return &Host{
		CPU:         float64(runtime.NumCPU()),
		MemoryBytes: mem,
		Hostname:    name,
		OS:          osName,
		Kernel:      kernel,
	}, nil
}
