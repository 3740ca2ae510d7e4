package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

func TestFormatTop(t *testing.T) {
	idle := &structs.Node{ID: "n2", Name: "idle", Status: structs.NodeReady, Eligible: true, Drain: true,
		GPUs: []structs.GPU{{Index: 0, Model: "NVIDIA A100-SXM4-40GB", MemoryBytes: 40 << 30, Healthy: true}}}
	pending := []*structs.Job{
		testJob("13", "sweep-lr", structs.JobPending, func(j *structs.Job) { j.Reason = "Resources"; j.EstimatedStart = now.Add(20 * time.Minute) }),
		testJob("14", "eval", structs.JobPending, func(j *structs.Job) { j.Reason = "Priority" }),
	}
	for _, tc := range []struct {
		name  string
		frame *topFrame
		width int
	}{
		{"top", &topFrame{
			nodes:   []*structs.Node{testNode(), idle},
			running: []*structs.Job{testJob("12", "a-rather-long-training-run-name", structs.JobRunning, running("dev", time.Hour, 0, 1))},
			pending: pending, totalPending: 240,
		}, 120},
		{"top_narrow_empty", &topFrame{nodes: []*structs.Node{idle}}, 80},
		// A down and an ineligible node: their idle GPUs are unavailable,
		// not free.
		{"top_unavailable", &topFrame{nodes: []*structs.Node{testNode(),
			{ID: "n3", Name: "gone", Status: structs.NodeDown, Eligible: true,
				GPUs: []structs.GPU{{Index: 0, Model: "NVIDIA H100 80GB HBM3", MemoryBytes: 80 << 30, Healthy: true}, {Index: 1, Model: "NVIDIA H100 80GB HBM3", MemoryBytes: 80 << 30, Healthy: true}}},
			{ID: "n4", Name: "held", Status: structs.NodeReady, Eligible: false,
				GPUs: []structs.GPU{{Index: 0, Model: "NVIDIA H100 80GB HBM3", MemoryBytes: 80 << 30, Healthy: true}}},
		}}, 120},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := formatTop(&b, tc.frame, now, tc.width); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.name, b.Bytes())
		})
	}
}

func TestPlotSeries(t *testing.T) {
	var xs, ys []float64
	for i := 1; i <= 50; i++ {
		xs = append(xs, float64(i*10))
		ys = append(ys, 2.5/float64(i)+0.1)
	}
	checkGolden(t, "plot_loss", []byte(plotSeries(xs, ys, 60, 12, "job 7: loss")))
	// One point and a flat line draw without dividing by zero.
	checkGolden(t, "plot_flat", []byte(plotSeries([]float64{1, 2, 3}, []float64{5, 5, 5}, 30, 4, "job 8: acc")))
	checkGolden(t, "plot_one", []byte(plotSeries([]float64{3}, []float64{0.25}, 30, 4, "job 9: loss")))
}

func TestMetricSeries(t *testing.T) {
	lines := []string{`{"step": 10, "loss": 1.5, "acc": 0.1}`, `{"loss": 1.0}`, `{"step": 30, "acc": 0.5}`, `{"step": 40, "loss": "nan"}`, `{"step": 50, "loss": 0.5}`}
	m := &structs.JobMetrics{From: 0}
	for _, l := range lines {
		m.History = append(m.History, json.RawMessage(l))
	}
	xs, ys, keys := metricSeries(m, "loss")
	// The line without a step is placed by its line number (1).
	if got, want := xs, []float64{10, 1, 50}; !equalFloats(got, want) {
		t.Errorf("xs = %v, want %v", got, want)
	}
	if got, want := ys, []float64{1.5, 1.0, 0.5}; !equalFloats(got, want) {
		t.Errorf("ys = %v, want %v", got, want)
	}
	if strings.Join(keys, ",") != "acc,loss" {
		t.Errorf("keys = %v, want acc, loss", keys)
	}
	if _, ys, _ := metricSeries(m, "missing"); len(ys) != 0 {
		t.Errorf("a missing key gave %v", ys)
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
