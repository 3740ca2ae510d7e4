package cgroups

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

const (
	// cpuPeriodUsec is the CFS period for CPU quotas (the kernel default).
	cpuPeriodUsec = 100_000
	// minCPUQuotaUsec is the smallest quota the kernel accepts.
	minCPUQuotaUsec = 1_000
)

// validate rejects limits the kernel would refuse or misread.
func (l Limits) validate() error {
	if math.IsNaN(l.CPU) || math.IsInf(l.CPU, 0) || l.CPU < 0 {
		return fmt.Errorf("invalid cpu limit %v: expected a finite number of cores >= 0", l.CPU)
	}
	if l.CPU > 0 && cpuQuotaUsec(l.CPU) < minCPUQuotaUsec {
		return fmt.Errorf("invalid cpu limit %v: expected at least %.2f cores", l.CPU, float64(minCPUQuotaUsec)/cpuPeriodUsec)
	}
	if l.MemoryBytes < 0 {
		return fmt.Errorf("invalid memory limit %d: expected bytes >= 0", l.MemoryBytes)
	}
	if l.Pids < 0 {
		return fmt.Errorf("invalid pids limit %d: expected >= 0", l.Pids)
	}
	if l.Devices != nil {
		for _, d := range l.Devices.GPUs {
			if d.Major < 0 || d.Minor < 0 || d.Major > math.MaxUint32 || d.Minor > math.MaxUint32 {
				return fmt.Errorf("invalid GPU device %d:%d: expected non-negative major and minor numbers", d.Major, d.Minor)
			}
		}
	}
	return nil
}

func cpuQuotaUsec(cores float64) int64 { return int64(math.Round(cores * cpuPeriodUsec)) }

// deviceRule is one character-device allowance; -1 is a wildcard.
type deviceRule struct {
	Major, Minor int64
	Access       string
}

// NVIDIA's fixed control device numbers (major 195 is registered to the
// driver): /dev/nvidiactl and /dev/nvidia-modeset.
const (
	nvidiaMajor         = 195
	nvidiaCtlMinor      = 255
	nvidiaModesetMinor  = 254
	nvidiaUVMDeviceName = "nvidia-uvm" // dynamic major; minor 0 uvm, minor 1 uvm-tools
)

// allowedDevices lists what a job with device rules may open: the usual
// pseudo-devices, the NVIDIA control devices, and its own GPUs. uvmMajor
// is the dynamic major of nvidia-uvm, or -1 when the driver has none.
func allowedDevices(r *DeviceRules, uvmMajor int64) []deviceRule {
	rules := []deviceRule{
		{1, 3, "rwm"},    // /dev/null
		{1, 5, "rwm"},    // /dev/zero
		{1, 7, "rwm"},    // /dev/full
		{1, 8, "rwm"},    // /dev/random
		{1, 9, "rwm"},    // /dev/urandom
		{5, 0, "rwm"},    // /dev/tty
		{5, 2, "rwm"},    // /dev/ptmx
		{136, -1, "rwm"}, // /dev/pts/*
		{nvidiaMajor, nvidiaCtlMinor, "rw"},
		{nvidiaMajor, nvidiaModesetMinor, "rw"},
	}
	if uvmMajor >= 0 {
		rules = append(rules, deviceRule{uvmMajor, 0, "rw"}, deviceRule{uvmMajor, 1, "rw"})
	}
	for _, g := range r.GPUs {
		rules = append(rules, deviceRule{g.Major, g.Minor, "rw"})
	}
	return rules
}

// parseProcDevices reads /proc/devices and returns the character device
// majors by driver name.
func parseProcDevices(r io.Reader) (map[string]int64, error) {
	out := map[string]int64{}
	s := bufio.NewScanner(r)
	inChar := false
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		switch {
		case line == "Character devices:":
			inChar = true
			continue
		case line == "Block devices:":
			inChar = false
			continue
		case line == "" || !inChar:
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("parse /proc/devices line %q: expected \"<major> <name>\"", line)
		}
		major, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parse /proc/devices line %q: %w", line, err)
		}
		out[f[1]] = major
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("read /proc/devices: %w", err)
	}
	return out, nil
}
