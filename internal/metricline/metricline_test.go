package metricline

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		err        error
		json       string
		values     map[string]float64
		nonFinite  map[string]string
	}{
		{name: "blank", line: "   "},
		{name: "plain", line: `{"step": 1, "loss": 0.5}`, json: `{"step": 1, "loss": 0.5}`,
			values: map[string]float64{"step": 1, "loss": 0.5}},
		{name: "NaN as Python writes it", line: `{"step": 3, "loss": NaN, "lr": 0.1}`, json: `{"step": 3, "loss": "NaN", "lr": 0.1}`,
			values: map[string]float64{"step": 3, "lr": 0.1}, nonFinite: map[string]string{"loss": "NaN"}},
		{name: "Infinity and -Infinity", line: `{"a":Infinity,"b":-Infinity, "c": -1}`, json: `{"a":"Infinity","b":"-Infinity", "c": -1}`,
			values: map[string]float64{"c": -1}, nonFinite: map[string]string{"a": "Infinity", "b": "-Infinity"}},
		{name: "already strings", line: `{"loss": "NaN", "note": "Infinity?"}`, json: `{"loss": "NaN", "note": "Infinity?"}`,
			nonFinite: map[string]string{"loss": "NaN"}},
		{name: "tokens inside strings are text", line: `{"note": "loss is NaN \"Infinity\" -Infinity", "step": 2}`,
			json: `{"note": "loss is NaN \"Infinity\" -Infinity", "step": 2}`, values: map[string]float64{"step": 2}},
		{name: "nested and in arrays", line: `{"step": 4, "eval": {"loss": NaN, "acc": 0.5}, "hist": [1, Infinity, -Infinity]}`,
			json:   `{"step": 4, "eval": {"loss": "NaN", "acc": 0.5}, "hist": [1, "Infinity", "-Infinity"]}`,
			values: map[string]float64{"step": 4}},
		{name: "escaped backslash before quote", line: `{"p": "C:\\", "x": NaN}`, json: `{"p": "C:\\", "x": "NaN"}`,
			nonFinite: map[string]string{"x": "NaN"}},
		{name: "empty key ignored", line: `{"": 1, "x": 2}`, json: `{"": 1, "x": 2}`, values: map[string]float64{"x": 2}},
		{name: "not JSON", line: `epoch 3 loss 0.2`, err: ErrNotJSON},
		{name: "truncated", line: `{"step": 3, "loss": Na`, err: ErrNotJSON},
		{name: "token glued to more", line: `{"loss": NaNx}`, err: ErrNotJSON},
		{name: "lower-case nan", line: `{"loss": nan}`, err: ErrNotJSON},
		{name: "array line", line: `[1, 2]`, err: ErrNotJSON},
		{name: "too large a number", line: `{"x": 1e999}`, err: ErrNotJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Parse([]byte(tc.line))
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if tc.err != nil || tc.json == "" {
				if l != nil {
					t.Fatalf("got %+v, want nil", l)
				}
				return
			}
			if string(l.JSON) != tc.json {
				t.Errorf("JSON %s, want %s", l.JSON, tc.json)
			}
			if diff := cmp.Diff(tc.values, l.Values); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.nonFinite, l.NonFinite); diff != "" {
				t.Errorf("non-finite (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScanner(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		name    string
		file    string
		skipped int
		want    map[string]structs.NonFiniteMetric
	}{
		{"finite run", "{\"step\": 1, \"loss\": 0.5}\n{\"step\": 2, \"loss\": 0.4}", 0, nil},
		{"diverged", "{\"step\": 1, \"loss\": 0.5}\n{\"step\": 2, \"loss\": 0.4}\n{\"step\": 3, \"loss\": NaN}\n{\"step\": 4, \"loss\": NaN}", 0,
			map[string]structs.NonFiniteMetric{"loss": {Value: "NaN", First: "NaN", Line: 3, Step: f(3)}}},
		{"recovered", "{\"loss\": NaN}\n{\"loss\": 1}", 0, nil},
		// Where it diverged stays: line 1, Infinity; the value is the newest.
		{"changes kind", "{\"loss\": Infinity}\n\n{\"loss\": NaN}", 0,
			map[string]structs.NonFiniteMetric{"loss": {Value: "NaN", First: "Infinity", Line: 1}}},
		{"garbage counted", "starting\n{\"step\": 1, \"grad\": -Infinity}\nTraceback (most recent call last):\n{\"step\": 2", 3,
			map[string]structs.NonFiniteMetric{"grad": {Value: "-Infinity", First: "-Infinity", Line: 2, Step: f(1)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s Scanner
			for line := range strings.SplitSeq(tc.file, "\n") {
				s.Add([]byte(line))
			}
			if s.Skipped() != tc.skipped {
				t.Errorf("skipped %d, want %d", s.Skipped(), tc.skipped)
			}
			if diff := cmp.Diff(tc.want, s.NonFinite()); diff != "" {
				t.Errorf("non-finite (-want +got):\n%s", diff)
			}
		})
	}
}
