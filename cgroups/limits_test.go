package cgroups

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseProcDevices(t *testing.T) {
	in := `Character devices:
  1 mem
  5 /dev/tty
195 nvidia-frontend
508 nvidia-uvm
136 pts

Block devices:
  7 loop
259 blkext
`
	got, err := parseProcDevices(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"mem": 1, "/dev/tty": 5, "nvidia-frontend": 195, "nvidia-uvm": 508, "pts": 136}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseProcDevices (-want +got):\n%s", diff)
	}
	if _, err := parseProcDevices(strings.NewReader("Character devices:\nxx nvidia\n")); err == nil {
		t.Error("a non-numeric major parsed without error")
	}
}

func TestAllowedDevices(t *testing.T) {
	std := []deviceRule{
		{1, 3, "rwm"}, {1, 5, "rwm"}, {1, 7, "rwm"}, {1, 8, "rwm"}, {1, 9, "rwm"},
		{5, 0, "rwm"}, {5, 2, "rwm"}, {136, -1, "rwm"},
		{195, 255, "rw"}, {195, 254, "rw"},
	}
	gpus := &DeviceRules{GPUs: []Device{{195, 2}, {195, 5}}}
	for _, tc := range []struct {
		name  string
		rules *DeviceRules
		uvm   int64
		want  []deviceRule
	}{
		{"no gpus no uvm", &DeviceRules{}, -1, std},
		{"two gpus no uvm", gpus, -1, append(append([]deviceRule{}, std...), deviceRule{195, 2, "rw"}, deviceRule{195, 5, "rw"})},
		{"two gpus with uvm", gpus, 508, append(append([]deviceRule{}, std...),
			deviceRule{508, 0, "rw"}, deviceRule{508, 1, "rw"}, deviceRule{195, 2, "rw"}, deviceRule{195, 5, "rw"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, allowedDevices(tc.rules, tc.uvm)); diff != "" {
				t.Errorf("allowedDevices (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLimitsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		l    Limits
		want string // "" = valid
	}{
		{"zero means unlimited", Limits{}, ""},
		{"all set", Limits{CPU: 2.5, MemoryBytes: 1 << 30, Pids: 512, Devices: &DeviceRules{GPUs: []Device{{195, 0}}}}, ""},
		{"smallest cpu", Limits{CPU: 0.01}, ""},
		{"cpu too small", Limits{CPU: 0.004}, "at least 0.01 cores"},
		{"negative memory", Limits{MemoryBytes: -1}, "invalid memory limit"},
		{"negative pids", Limits{Pids: -3}, "invalid pids limit"},
		{"negative minor", Limits{Devices: &DeviceRules{GPUs: []Device{{195, -1}}}}, "invalid GPU device 195:-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.l.validate()
			if tc.want == "" && err != nil {
				t.Fatalf("validate: %v", err)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("validate error = %v, want %q", err, tc.want)
			}
		})
	}
}
