//go:build cgo

package fingerprint

import (
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/nai-project/nai/structs"
)

// gpuInfo is what the fingerprint learns about one device, beyond what the
// servers need: the /dev/nvidiaN minor for the cgroup device rules.
type gpuInfo struct {
	gpu   structs.GPU
	minor int // -1 when unknown
}

// nvmlError turns an NVML return code into an error (nil on SUCCESS).
func nvmlError(what string, ret nvml.Return) error {
	if ret == nvml.SUCCESS {
		return nil
	}
	return fmt.Errorf("%s: %w", what, ret)
}

// readGPUs reads every device through lib, which is initialised. It uses only
// the per-Device methods, never the package-level helpers, so that real NVML
// and a fake machine answer the same calls. A device that cannot be read is
// still reported, unhealthy, so that it shows up and is never scheduled.
func readGPUs(lib nvml.Interface) ([]gpuInfo, error) {
	n, ret := lib.DeviceGetCount()
	if err := nvmlError("nvml device count", ret); err != nil {
		return nil, err
	}
	infos := make([]gpuInfo, n)
	devs := make([]nvml.Device, n)
	for i := range n {
		infos[i] = gpuInfo{gpu: structs.GPU{Index: i, Healthy: true}, minor: -1}
		d, ret := lib.DeviceGetHandleByIndex(i)
		if err := nvmlError(fmt.Sprintf("nvml device %d handle", i), ret); err != nil {
			markUnhealthy(&infos[i].gpu, err)
			continue
		}
		devs[i] = d
		if err := readDevice(d, &infos[i]); err != nil {
			markUnhealthy(&infos[i].gpu, fmt.Errorf("nvml device %d: %w", i, err))
		}
	}
	readNVLinkPeers(devs, infos)
	return infos, nil
}

func markUnhealthy(g *structs.GPU, err error) {
	g.Healthy = false
	g.Unhealthy = err.Error()
}

// readDevice fills the identity of one device. Identity (UUID, name, memory)
// is required; the rest is best effort because older drivers and some boards
// answer ERROR_NOT_SUPPORTED.
func readDevice(d nvml.Device, info *gpuInfo) error {
	g := &info.gpu
	var ret nvml.Return
	if g.UUID, ret = d.GetUUID(); ret != nvml.SUCCESS {
		return nvmlError("uuid", ret)
	}
	if g.Model, ret = d.GetName(); ret != nvml.SUCCESS {
		return nvmlError("name", ret)
	}
	mem, ret := d.GetMemoryInfo()
	if ret != nvml.SUCCESS {
		return nvmlError("memory info", ret)
	}
	g.MemoryBytes = int64(mem.Total)
	if pci, ret := d.GetPciInfo(); ret == nvml.SUCCESS {
		g.PCIBusID = cString(pci.BusId[:])
		if g.PCIBusID == "" {
			g.PCIBusID = cString(pci.BusIdLegacy[:])
		}
	}
	if cur, _, ret := d.GetMigMode(); ret == nvml.SUCCESS {
		g.MIG = cur == nvml.DEVICE_MIG_ENABLE
	}
	if minor, ret := d.GetMinorNumber(); ret == nvml.SUCCESS {
		info.minor = minor
	}
	return nil
}

// readNVLinkPeers asks NVML, for every pair, whether peer-to-peer over NVLink
// works. Unlike walking links to their remote PCI device, this also sees peers
// joined through an NVSwitch.
func readNVLinkPeers(devs []nvml.Device, infos []gpuInfo) {
	for i := range devs {
		if devs[i] == nil || !infos[i].gpu.Healthy {
			continue
		}
		for j := i + 1; j < len(devs); j++ {
			if devs[j] == nil || !infos[j].gpu.Healthy {
				continue
			}
			st, ret := devs[i].GetP2PStatus(devs[j], nvml.P2P_CAPS_INDEX_NVLINK)
			if ret != nvml.SUCCESS || st != nvml.P2P_STATUS_OK {
				continue
			}
			infos[i].gpu.NVLinkPeers = append(infos[i].gpu.NVLinkPeers, j)
			infos[j].gpu.NVLinkPeers = append(infos[j].gpu.NVLinkPeers, i)
		}
	}
}

// cString reads a NUL-terminated NVML char array.
func cString(b []int8) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}
