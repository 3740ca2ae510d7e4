//go:build cgo

package fingerprint

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The cgo-free build describes fakes from fakeModels; they must match the
// go-nvml mock configs the cgo build reads through NVML.
func TestFakeModelsMatchMocks(t *testing.T) {
	for _, name := range FakeModels() {
		t.Run(name, func(t *testing.T) {
			mock, ok := mockGPUs[name]
			if !ok {
				t.Fatalf("no mock config for %s", name)
			}
			fm := fakeModels[name]
			if fm.name != mock.Name || fm.memoryMB != mock.MemoryMB {
				t.Errorf("table says %q %d MB, mock says %q %d MB", fm.name, fm.memoryMB, mock.Name, mock.MemoryMB)
			}
		})
	}
}

func TestFingerprintLostGPU(t *testing.T) {
	fm, err := NewFakeMachine("h100", 4, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := fm.SetLost(1); err != nil {
		t.Fatal(err)
	}
	h := &Host{}
	if err := h.readNVML(fm.Interface()); err != nil {
		t.Fatalf("readNVML: %v", err)
	}
	g := h.GPUs[1]
	if g.Healthy || !strings.Contains(g.Unhealthy, "ERROR_GPU_IS_LOST") || g.Index != 1 {
		t.Errorf("lost gpu = %+v, want it listed unhealthy with the NVML error", g)
	}
	if diff := cmp.Diff([]int{2, 3}, h.GPUs[0].NVLinkPeers); diff != "" {
		t.Errorf("gpu 0 peers (-want +got):\n%s", diff)
	}
	if _, err := h.DeviceMinor(1); err == nil {
		t.Error("DeviceMinor of a gpu whose minor is unknown: want an error")
	}
}

func TestFakeMachineBadInput(t *testing.T) {
	fm, err := NewFakeMachine("", 2, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"lost index", fm.SetLost(2), "expected an index from 0 to 1"},
		{"negative index", fm.AddECCErrors(-1, 1), "expected an index from 0 to 1"},
		{"utilisation", fm.SetUsage(0, 101, 0), "expected 0 to 100"},
		{"memory", fm.SetUsage(0, 1, 81<<30), "expected 0 to 85899345920 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil || !strings.Contains(tt.err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", tt.err, tt.want)
			}
		})
	}
	if _, err := fm.InjectXID(5, 79); err == nil {
		t.Error("InjectXID on gpu 5 of 2: want an error")
	}
}
