//go:build cgo

package fingerprint

import (
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/nai-project/nai/structs"
)

// nvmlLib is the NVML a host was read from: real libnvidia-ml or a mock
// machine, behind the same interface.
type nvmlLib = nvml.Interface

// fingerprintNVML reads the GPUs from the real libnvidia-ml.
func (h *Host) fingerprintNVML() error { return h.readNVML(nvml.New()) }

// fingerprintFake reads the GPUs from a go-nvml mock machine, through the
// same code as real NVML.
func (h *Host) fingerprintFake(opts Options) error {
	fm, err := NewFakeMachine(opts.DevModel, opts.DevGPUs, opts.DevSeed)
	if err != nil {
		return err
	}
	h.Fake, h.fake = true, fm
	if err := h.readNVML(fm.Interface()); err != nil {
		return fmt.Errorf("fingerprint fake gpus: %w", err)
	}
	return nil
}

// NewMonitor watches the host's GPUs through the NVML they were read from.
// On a host without NVML it watches nothing. Call Start, then Stop.
func NewMonitor(h *Host, opts MonitorOptions) *Monitor {
	return newMonitor(h.lib, h.GPUs, opts)
}

// readNVML fills the GPU fields from an NVML library; an error means NVML is
// not usable at all.
func (h *Host) readNVML(lib nvml.Interface) error {
	if ret := lib.Init(); ret != nvml.SUCCESS {
		if ret == nvml.ERROR_LIBRARY_NOT_FOUND {
			return fmt.Errorf("nvml: libnvidia-ml.so.1 not found (no NVIDIA driver on this host): %w", ret)
		}
		return fmt.Errorf("nvml init: %w", ret)
	}
	// NVML counts Init/Shutdown pairs; the monitor takes its own reference.
	defer lib.Shutdown()

	infos, err := readGPUs(lib)
	if err != nil {
		return err
	}
	h.lib = lib
	h.GPUs = make([]structs.GPU, len(infos))
	h.minors = make(map[int]int, len(infos))
	for i, info := range infos {
		h.GPUs[i] = info.gpu
		h.minors[info.gpu.Index] = info.minor
	}
	if v, ret := lib.SystemGetDriverVersion(); ret == nvml.SUCCESS {
		h.Driver = v
	}
	if v, ret := lib.SystemGetCudaDriverVersion(); ret == nvml.SUCCESS {
		h.CUDAVersion = cudaVersion(v)
	}
	return nil
}
