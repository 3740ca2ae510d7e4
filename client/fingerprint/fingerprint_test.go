package fingerprint

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testLogger routes the package's logs to t.Log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// boardPeers is the documented NVSwitch topology: every other GPU on the
// same board of eight.
func boardPeers(i, n int) []int {
	var peers []int
	for j := i / 8 * 8; j < min(i/8*8+8, n); j++ {
		if j != i {
			peers = append(peers, j)
		}
	}
	return peers
}

func TestFingerprintFakeGPUs(t *testing.T) {
	for _, n := range []int{1, 2, 4, 8, 16} {
		t.Run(fmt.Sprintf("%d-gpus", n), func(t *testing.T) {
			h, err := Fingerprint(Options{DevGPUs: n, Logger: testLogger(t)})
			if err != nil {
				t.Fatalf("Fingerprint: %v", err)
			}
			if !h.Fake || h.FakeMachine() == nil || h.FakeMachine().Len() != n {
				t.Errorf("Fake=%v FakeMachine=%v, want a fake host with its machine of %d", h.Fake, h.FakeMachine(), n)
			}
			if h.NVMLError != "" {
				t.Errorf("NVMLError = %q, want empty when fakes were asked for", h.NVMLError)
			}
			if h.Driver == "" || h.CUDAVersion != "12.4" {
				t.Errorf("Driver = %q, CUDAVersion = %q; want the mock's driver and 12.4", h.Driver, h.CUDAVersion)
			}
			if len(h.GPUs) != n {
				t.Fatalf("got %d gpus, want %d", len(h.GPUs), n)
			}
			seen := map[string]bool{}
			for i, g := range h.GPUs {
				if g.Index != i {
					t.Errorf("gpu %d: Index = %d", i, g.Index)
				}
				if !strings.HasPrefix(g.UUID, "GPU-") || seen[g.UUID] {
					t.Errorf("gpu %d: UUID %q is malformed or repeated", i, g.UUID)
				}
				seen[g.UUID] = true
				if !strings.Contains(g.Model, "H100") {
					t.Errorf("gpu %d: Model = %q, want an H100", i, g.Model)
				}
				if g.MemoryBytes != 80<<30 {
					t.Errorf("gpu %d: MemoryBytes = %d, want 80 GiB", i, g.MemoryBytes)
				}
				if g.PCIBusID == "" || g.MIG || !g.Healthy || g.Unhealthy != "" {
					t.Errorf("gpu %d: PCIBusID=%q MIG=%v Healthy=%v Unhealthy=%q", i, g.PCIBusID, g.MIG, g.Healthy, g.Unhealthy)
				}
				if diff := cmp.Diff(boardPeers(i, n), g.NVLinkPeers); diff != "" {
					t.Errorf("gpu %d: NVLinkPeers (-want +got):\n%s", i, diff)
				}
				minor, err := h.DeviceMinor(i)
				if err != nil || minor != i {
					t.Errorf("gpu %d: DeviceMinor = %d, %v; want %d", i, minor, err, i)
				}
			}
			if _, err := h.DeviceMinor(n); err == nil {
				t.Errorf("DeviceMinor(%d) on a %d-gpu host: want an error", n, n)
			}
			if h.CPU <= 0 || h.MemoryBytes <= 0 || h.Hostname == "" || h.OS == "" {
				t.Errorf("host: CPU=%v MemoryBytes=%d Hostname=%q OS=%q", h.CPU, h.MemoryBytes, h.Hostname, h.OS)
			}
		})
	}
}

func TestFakeUUIDsStable(t *testing.T) {
	uuids := func(opts Options) []string {
		t.Helper()
		h, err := Fingerprint(opts)
		if err != nil {
			t.Fatalf("Fingerprint(%+v): %v", opts, err)
		}
		var out []string
		for _, g := range h.GPUs {
			out = append(out, g.UUID)
		}
		return out
	}
	first := uuids(Options{DevGPUs: 8})
	if diff := cmp.Diff(first, uuids(Options{DevGPUs: 8})); diff != "" {
		t.Errorf("a second fingerprint changed the UUIDs (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(first[:4], uuids(Options{DevGPUs: 4})); diff != "" {
		t.Errorf("GPU i must keep its UUID whatever N is (-8 +4):\n%s", diff)
	}
	if other := uuids(Options{DevGPUs: 8, DevSeed: "node-2"}); slices.ContainsFunc(other, func(u string) bool { return slices.Contains(first, u) }) {
		t.Errorf("another seed shares UUIDs with the default seed: %v vs %v", other, first)
	}
	if other := uuids(Options{DevGPUs: 8, DevModel: "a100"}); other[0] == first[0] {
		t.Errorf("a100 and h100 fakes share UUID %s", first[0])
	}
}

func TestFakeModels(t *testing.T) {
	tests := []struct {
		model     string
		wantName  string
		wantPeers [][]int // of GPUs 0..3 on a 4-GPU machine
	}{
		{"h100", "H100", [][]int{{1, 2, 3}, {0, 2, 3}, {0, 1, 3}, {0, 1, 2}}},
		{"H200", "H200", [][]int{{1, 2, 3}, {0, 2, 3}, {0, 1, 3}, {0, 1, 2}}},
		{"a100", "A100-SXM4", [][]int{{1, 2, 3}, {0, 2, 3}, {0, 1, 3}, {0, 1, 2}}},
		{"a100-pcie", "A100-PCIE", [][]int{{1}, {0}, {3}, {2}}},
		{"a30", "A30", [][]int{{1}, {0}, {3}, {2}}},
		{"b200", "B200", [][]int{{1, 2, 3}, {0, 2, 3}, {0, 1, 3}, {0, 1, 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			h, err := Fingerprint(Options{DevGPUs: 4, DevModel: tt.model})
			if err != nil {
				t.Fatalf("Fingerprint: %v", err)
			}
			var peers [][]int
			for _, g := range h.GPUs {
				if !strings.Contains(g.Model, tt.wantName) {
					t.Errorf("gpu %d: Model = %q, want %q in it", g.Index, g.Model, tt.wantName)
				}
				peers = append(peers, g.NVLinkPeers)
			}
			if diff := cmp.Diff(tt.wantPeers, peers); diff != "" {
				t.Errorf("NVLink peers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFakeMachineLarge(t *testing.T) {
	h, err := Fingerprint(Options{DevGPUs: MaxFakeGPUs})
	if err != nil {
		t.Fatalf("Fingerprint: %v", err)
	}
	if len(h.GPUs) != MaxFakeGPUs {
		t.Fatalf("got %d gpus, want %d", len(h.GPUs), MaxFakeGPUs)
	}
	uuids, buses := map[string]bool{}, map[string]bool{}
	for _, g := range h.GPUs {
		uuids[g.UUID], buses[g.PCIBusID] = true, true
	}
	if len(uuids) != MaxFakeGPUs || len(buses) != MaxFakeGPUs {
		t.Errorf("%d distinct UUIDs and %d distinct PCI bus ids, want %d of each", len(uuids), len(buses), MaxFakeGPUs)
	}
	last := h.GPUs[MaxFakeGPUs-1]
	if diff := cmp.Diff(boardPeers(last.Index, MaxFakeGPUs), last.NVLinkPeers); diff != "" {
		t.Errorf("gpu %d NVLink peers (-want +got):\n%s", last.Index, diff)
	}
	if last.PCIBusID != "00000003:FF:00.0" {
		t.Errorf("gpu %d PCIBusID = %q, want 00000003:FF:00.0", last.Index, last.PCIBusID)
	}
}

func TestFingerprintBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"negative count", Options{DevGPUs: -1}, "expected 0 (real NVML) or 1 to 1024"},
		{"too many", Options{DevGPUs: MaxFakeGPUs + 1}, "expected 1 to 1024"},
		{"unknown model", Options{DevGPUs: 2, DevModel: "v100"}, "expected one of a100, a100-pcie, a30, b200, h100, h200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Fingerprint(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Fingerprint(%+v) = %v, %v; want an error containing %q", tt.opts, h, err, tt.want)
			}
		})
	}
}

// nvmlPresent reports whether this machine has a usable NVML; the tests of
// its absence only make sense where it is absent.
func nvmlPresent(t *testing.T) bool {
	t.Helper()
	h, err := Fingerprint(Options{})
	if err != nil {
		t.Fatalf("Fingerprint: %v", err)
	}
	return h.NVMLError == ""
}

func TestFingerprintWithoutNVML(t *testing.T) {
	if nvmlPresent(t) {
		t.Skip("this host has NVML")
	}
	h, err := Fingerprint(Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Fingerprint: %v", err)
	}
	if len(h.GPUs) != 0 || h.Fake || h.lib != nil || h.FakeMachine() != nil {
		t.Errorf("GPUs=%v Fake=%v lib=%v, want a host with no gpus", h.GPUs, h.Fake, h.lib)
	}
	if !strings.Contains(h.NVMLError, "libnvidia-ml.so.1") {
		t.Errorf("NVMLError = %q, want it to name the missing libnvidia-ml.so.1", h.NVMLError)
	}
	if _, err := h.DeviceMinor(0); err == nil {
		t.Error("DeviceMinor(0) on a host without gpus: want an error")
	}
	if h.CPU <= 0 || h.MemoryBytes <= 0 {
		t.Errorf("CPU=%v MemoryBytes=%d, want the host's", h.CPU, h.MemoryBytes)
	}
}

func TestFingerprintDev(t *testing.T) {
	present := nvmlPresent(t)
	t.Run("default falls back to 4 fakes", func(t *testing.T) {
		if present {
			t.Skip("this host has NVML")
		}
		h, err := FingerprintDev(-1, testLogger(t))
		if err != nil {
			t.Fatalf("FingerprintDev: %v", err)
		}
		if !h.Fake || len(h.GPUs) != DefaultDevGPUs {
			t.Errorf("Fake=%v with %d gpus, want %d fakes", h.Fake, len(h.GPUs), DefaultDevGPUs)
		}
		if h.NVMLError == "" {
			t.Error("NVMLError is empty, want why real NVML was not used")
		}
	})
	t.Run("explicit count", func(t *testing.T) {
		h, err := FingerprintDev(2, testLogger(t))
		if err != nil {
			t.Fatalf("FingerprintDev: %v", err)
		}
		if !h.Fake || len(h.GPUs) != 2 {
			t.Errorf("Fake=%v with %d gpus, want 2 fakes", h.Fake, len(h.GPUs))
		}
	})
	t.Run("default with a model", func(t *testing.T) {
		if present {
			t.Skip("this host has NVML")
		}
		h, err := FingerprintDevOptions(Options{DevGPUs: -1, DevModel: "a100-pcie", Logger: testLogger(t)})
		if err != nil {
			t.Fatalf("FingerprintDevOptions: %v", err)
		}
		if len(h.GPUs) != DefaultDevGPUs || !strings.Contains(h.GPUs[0].Model, "A100-PCIE") {
			t.Errorf("got %d gpus of %q, want %d A100-PCIE fakes", len(h.GPUs), h.modelName(), DefaultDevGPUs)
		}
	})
	t.Run("zero means real only", func(t *testing.T) {
		if present {
			t.Skip("this host has NVML")
		}
		h, err := FingerprintDev(0, testLogger(t))
		if err != nil {
			t.Fatalf("FingerprintDev: %v", err)
		}
		if h.Fake || len(h.GPUs) != 0 || h.NVMLError == "" {
			t.Errorf("Fake=%v gpus=%d NVMLError=%q, want no gpus and a reason", h.Fake, len(h.GPUs), h.NVMLError)
		}
	})
}

func TestParseMemTotal(t *testing.T) {
	tests := []struct {
		name, in string
		want     int64
		wantErr  bool
	}{
		{"normal", "MemFree:  10 kB\nMemTotal:       16318412 kB\n", 16318412 * 1024, false},
		{"missing", "MemFree: 10 kB\n", 0, true},
		{"garbage", "MemTotal: lots kB\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMemTotal(strings.NewReader(tt.in))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseMemTotal = %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
