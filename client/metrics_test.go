package client

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nai-project/nai/structs"
)

func TestMetricsTail(t *testing.T) {
	tests := []struct {
		name   string
		writes []string // appended before each read
		final  bool
		want   map[string]float64
	}{
		{name: "last value wins", writes: []string{"{\"step\": 1, \"loss\": 0.9}\n{\"step\": 2, \"loss\": 0.5}\n"},
			want: map[string]float64{"step": 2, "loss": 0.5}},
		{name: "bad lines and non-numbers are skipped", writes: []string{"not json\n{\"loss\": 0.4, \"phase\": \"train\", \"ok\": true}\n[1,2]\n{\"loss\": }\n"},
			want: map[string]float64{"loss": 0.4}},
		{name: "a partial line waits for its newline", writes: []string{"{\"step\": 1}\n{\"st", "ep\": 7}\n"},
			want: map[string]float64{"step": 7}},
		{name: "final read takes a line without newline", writes: []string{"{\"step\": 3}"}, final: true,
			want: map[string]float64{"step": 3}},
		{name: "without final a partial line is held back", writes: []string{"{\"step\": 3}"},
			want: nil},
		{name: "NaN drops the key's earlier value and keeps the rest of its line",
			writes: []string{"{\"step\": 1, \"loss\": 0.5}\n{\"step\": 3, \"loss\": NaN, \"lr\": 0.1}\n"},
			want:   map[string]float64{"step": 3, "lr": 0.1}},
		{name: "Infinity and -Infinity", writes: []string{"{\"a\": Infinity, \"b\": -Infinity, \"c\": 1}\n"},
			want: map[string]float64{"c": 1}},
		{name: "a value that is finite again is back", writes: []string{"{\"loss\": NaN}\n", "{\"loss\": 2}\n"},
			want: map[string]float64{"loss": 2}},
		{name: "nested non-finite values keep the line", writes: []string{"{\"step\": 2, \"eval\": {\"loss\": NaN}, \"h\": [Infinity]}\n"},
			want: map[string]float64{"step": 2}},
		{name: "an overlong line is dropped", writes: []string{"{\"big\": \"" + strings.Repeat("x", maxMetricLine+10) + "\"}\n{\"step\": 1}\n"},
			want: map[string]float64{"step": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "metrics.jsonl")
			m := newMetricsTail(path)
			if m.read(false) {
				t.Error("a missing file reported a change")
			}
			for i, w := range tc.writes {
				f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
				if err != nil {
					t.Fatal(err)
				}
				f.WriteString(w)
				f.Close()
				m.read(tc.final && i == len(tc.writes)-1)
			}
			if diff := cmp.Diff(tc.want, m.values()); diff != "" {
				t.Errorf("metrics (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMetricsTailReportsChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	m := newMetricsTail(path)
	if err := os.WriteFile(path, []byte("{\"step\": 1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !m.read(false) {
		t.Error("first value not reported as a change")
	}
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	f.WriteString("{\"step\": 1}\n")
	f.Close()
	if m.read(false) {
		t.Error("an unchanged value was reported as a change")
	}
}

// Non-JSON lines are counted and the first logged; a key that becomes
// NaN is logged once, with its line and step.
func TestMetricsTailNotes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	var log bytes.Buffer
	m := newMetricsTail(path)
	m.logger = slog.New(slog.NewTextHandler(&log, nil))
	lines := "starting training\n{\"step\": 1, \"loss\": 0.5}\n\n{\"step\": 3, \"loss\": NaN}\n{\"step\": 4, \"loss\": NaN}\nTraceback (most recent call last):\n"
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	m.read(true)
	if m.skipped != 2 || m.line != 6 {
		t.Errorf("skipped %d of %d lines, want 2 of 6", m.skipped, m.line)
	}
	if skipped, counted := m.counts(); skipped != 2 || !counted {
		t.Errorf("counts() = %d, %v; want 2, true", skipped, counted)
	}
	step3 := 3.0
	if diff := cmp.Diff(map[string]structs.NonFiniteMetric{"loss": {Value: "NaN", First: "NaN", Line: 4, Step: &step3}}, m.nonFinite); diff != "" {
		t.Errorf("non-finite (-want +got):\n%s", diff)
	}
	got := log.String()
	for _, want := range []string{
		`msg="a line of NAI_METRICS_FILE is not a JSON object; skipped" line=1 text="starting training"`,
		`msg="metric is not a finite number" metric=loss value=NaN line=4 step=3`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %s:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "not a finite number"); n != 1 {
		t.Errorf("the same NaN logged %d times:\n%s", n, got)
	}
}

// A metric that stops being finite is reported as such, with the line and
// step where it diverged and its newest value, beside the last values that
// leave it out; a finite value takes it back.
func TestMetricsTailReportsNonFinite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	m := newMetricsTail(path)
	write := func(s string) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	write("{\"step\": 1, \"loss\": 0.5, \"acc\": 0.1}\n{\"step\": 2, \"loss\": NaN, \"acc\": 0.2}\n")
	if !m.read(false) {
		t.Fatal("read reports no change")
	}
	step2 := 2.0
	want := map[string]structs.NonFiniteMetric{"loss": {Value: "NaN", First: "NaN", Line: 2, Step: &step2}}
	if d := cmp.Diff(want, m.nonFiniteValues()); d != "" {
		t.Errorf("non-finite (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]float64{"step": 2, "acc": 0.2}, m.values()); d != "" {
		t.Errorf("values (-want +got):\n%s", d)
	}
	write("{\"step\": 3, \"loss\": Infinity}\n")
	if !m.read(false) {
		t.Fatal("a new non-finite value is no change")
	}
	want["loss"] = structs.NonFiniteMetric{Value: "Infinity", First: "NaN", Line: 2, Step: &step2}
	if d := cmp.Diff(want, m.nonFiniteValues()); d != "" {
		t.Errorf("non-finite after Infinity (-want +got):\n%s", d)
	}
	write("{\"step\": 4, \"loss\": 0.7}\n")
	m.read(false)
	if got := m.nonFiniteValues(); got != nil {
		t.Errorf("non-finite after a finite value = %v, want none", got)
	}
	if v, ok := m.values()["loss"]; !ok || v != 0.7 {
		t.Errorf("loss = %v, %v; want 0.7", v, ok)
	}
}
