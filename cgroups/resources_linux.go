package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// nvidiaUVMMajor is the dynamic major of /dev/nvidia-uvm, or -1 when the
// driver is not loaded (then its nodes cannot exist and need no rule).
func nvidiaUVMMajor() (int64, error) {
	f, err := os.Open("/proc/devices")
	if errors.Is(err, fs.ErrNotExist) {
		return -1, nil
	}
	if err != nil {
		return -1, fmt.Errorf("read /proc/devices: %w", err)
	}
	defer f.Close()
	majors, err := parseProcDevices(f)
	if err != nil {
		return -1, err
	}
	if m, ok := majors[nvidiaUVMDeviceName]; ok {
		return m, nil
	}
	return -1, nil
}

// deviceCgroupRules is "deny everything" followed by the allowances, in
// the order both the v1 devices files and containerd's eBPF filter expect.
func deviceCgroupRules(r *DeviceRules, uvmMajor int64) []specs.LinuxDeviceCgroup {
	wild := int64(-1)
	out := []specs.LinuxDeviceCgroup{{Allow: false, Type: "a", Major: &wild, Minor: &wild, Access: "rwm"}}
	for _, d := range allowedDevices(r, uvmMajor) {
		major, minor := d.Major, d.Minor
		out = append(out, specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: &major, Minor: &minor, Access: d.Access})
	}
	return out
}

// v1Resources translates Limits for cgroup v1. Swap is turned off by
// setting memory+swap equal to memory; without swap accounting (no
// memory.memsw.* files) the best v1 offers is swappiness 0.
func v1Resources(l Limits, memsw bool, uvmMajor int64) *specs.LinuxResources {
	r := &specs.LinuxResources{}
	if l.MemoryBytes > 0 {
		limit := l.MemoryBytes
		r.Memory = &specs.LinuxMemory{Limit: &limit}
		if memsw {
			swap := limit
			r.Memory.Swap = &swap
		} else {
			zero := uint64(0)
			r.Memory.Swappiness = &zero
		}
	}
	if l.CPU > 0 {
		quota, period := cpuQuotaUsec(l.CPU), uint64(cpuPeriodUsec)
		r.CPU = &specs.LinuxCPU{Quota: &quota, Period: &period}
	}
	if l.Pids > 0 {
		pids := l.Pids
		r.Pids = &specs.LinuxPids{Limit: &pids}
	}
	if l.Devices != nil {
		r.Devices = deviceCgroupRules(l.Devices, uvmMajor)
	}
	return r
}

// v2Resources translates Limits for cgroup v2: memory.max with
// memory.swap.max 0, cpu.max "quota period", pids.max, and the device
// rules that containerd compiles into an eBPF program.
func v2Resources(l Limits, uvmMajor int64) *cgroup2.Resources {
	r := &cgroup2.Resources{}
	if l.MemoryBytes > 0 {
		limit, swap := l.MemoryBytes, int64(0)
		r.Memory = &cgroup2.Memory{Max: &limit, Swap: &swap}
	}
	if l.CPU > 0 {
		quota, period := cpuQuotaUsec(l.CPU), uint64(cpuPeriodUsec)
		r.CPU = &cgroup2.CPU{Max: cgroup2.NewCPUMax(&quota, &period)}
	}
	if l.Pids > 0 {
		r.Pids = &cgroup2.Pids{Max: l.Pids}
	}
	if l.Devices != nil {
		r.Devices = deviceCgroupRules(l.Devices, uvmMajor)
	}
	return r
}
