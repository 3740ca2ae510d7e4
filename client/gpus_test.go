package client

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nai-project/nai/client/fingerprint"
	"github.com/nai-project/nai/structs"
)

func TestGPUTracker(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	sample := func(idx, util int, mem int64, at time.Duration) fingerprint.Usage {
		return fingerprint.Usage{Index: idx, UUID: "GPU-x", UtilizationPercent: util, MemoryUsedBytes: mem, Time: t0.Add(at)}
	}
	tests := []struct {
		name        string
		rounds      [][]fingerprint.Usage
		wantChanged []bool
		want        []structs.GPUUsage
	}{
		{name: "no samples yet", rounds: [][]fingerprint.Usage{nil, {{Index: 0}}}, wantChanged: []bool{false, false}},
		{
			name: "mean and peak over new samples only",
			rounds: [][]fingerprint.Usage{
				{sample(3, 90, 10, 0), sample(1, 20, 5, 0)},
				{sample(3, 90, 10, 0), sample(1, 20, 5, 0)}, // the same samples again: nothing new
				{sample(3, 60, 30, time.Second), sample(1, 40, 4, time.Second)},
				{sample(3, 31, 20, 2*time.Second)},
				{sample(1, 40, 4, 3*time.Second)}, // new, but says the same: counted, not reported
			},
			wantChanged: []bool{true, false, true, true, false},
			want: []structs.GPUUsage{
				{Index: 1, UUID: "GPU-x", UtilizationPercent: 40, MemoryUsedBytes: 4, MeanUtilization: 33.3, PeakMemoryBytes: 5, Time: t0.Add(3 * time.Second)},
				{Index: 3, UUID: "GPU-x", UtilizationPercent: 31, MemoryUsedBytes: 20, MeanUtilization: 60.3, PeakMemoryBytes: 30, Time: t0.Add(2 * time.Second)},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newGPUTracker()
			for i, r := range tc.rounds {
				if got := tr.add(r); got != tc.wantChanged[i] {
					t.Errorf("round %d: changed = %v, want %v", i, got, tc.wantChanged[i])
				}
			}
			if diff := cmp.Diff(tc.want, tr.values()); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
		})
	}
}
