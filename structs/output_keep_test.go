package structs

import (
	"strings"
	"testing"
)

func TestKeepMatch(t *testing.T) {
	for _, tc := range []struct {
		keep []string
		rel  string
		want bool
	}{
		{nil, "anything/at/all.txt", true},
		{[]string{"*.pt"}, "model.pt", true},
		{[]string{"*.pt"}, "ckpt/last.pt", true},
		{[]string{"*.pt"}, "a/b/c/deep.pt", true},
		{[]string{"*.pt"}, "weights.json", false},
		{[]string{"*.pt"}, "serve.py", false},
		{[]string{"*.pt"}, "model.pt.bak", false},
		{[]string{"*.pt"}, "x.pt/inside.txt", true}, // a folder named by the glob keeps what it holds
		{[]string{"ckpt"}, "ckpt/old/last.bin", true},
		{[]string{"ckpt"}, "runs/ckpt/last.bin", true},
		{[]string{"ckpt"}, "ckpt.bin", false},
		{[]string{"ckpt/"}, "runs/ckpt/last.bin", true},
		{[]string{"ckpt/*.pt"}, "ckpt/last.pt", true},
		{[]string{"ckpt/*.pt"}, "ckpt/old/last.pt", false}, // * does not cross /
		{[]string{"ckpt/*.pt"}, "last.pt", false},
		{[]string{"ckpt/*.pt"}, "runs/ckpt/last.pt", false}, // a glob with / is anchored
		{[]string{"runs/best"}, "runs/best/weights/a.bin", true},
		{[]string{"runs/best"}, "runs/bestest/a.bin", false},
		{[]string{"*/best/*"}, "runs/best/a.bin", true},
		{[]string{"model-?.pt"}, "model-1.pt", true},
		{[]string{"model-[0-9].pt"}, "model-x.pt", false},
		{[]string{"*.json", "*.pt"}, "weights.json", true},
		{[]string{"*.json", "*.pt"}, "serve.py", false},
		{[]string{"[unclosed"}, "[unclosed", false}, // refused at submit; never matches
	} {
		o := &OutputSpec{Keep: tc.keep}
		if got := o.KeepMatch(tc.rel); got != tc.want {
			t.Errorf("keep %q, %s: got %v, want %v", tc.keep, tc.rel, got, tc.want)
		}
	}
	var none *OutputSpec
	if !none.KeepMatch("a.txt") {
		t.Error("a job without an output block keeps everything")
	}
}

func TestValidKeepGlob(t *testing.T) {
	for _, tc := range []struct {
		glob, err string
	}{
		{"*.pt", ""},
		{"ckpt/*.pt", ""},
		{"ckpt/", ""},
		{"", "expected a glob relative to NAI_OUTPUT_DIR"},
		{"/abs.pt", "expected a glob relative to NAI_OUTPUT_DIR"},
		{"../x", "expected a glob relative to NAI_OUTPUT_DIR"},
		{"ckpt/../x", "expected a glob relative to NAI_OUTPUT_DIR"},
		{"[unclosed", "is not a glob"},
		{`bad\`, "is not a glob"},
	} {
		err := ValidKeepGlob(tc.glob)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ValidKeepGlob(%q) = %v, want %q", tc.glob, err, tc.err)
		}
	}
	// A submission is refused; the state machine's Validate still takes
	// such a job, so a raft log written before the check replays as it
	// was applied.
	j := &Job{Name: "j", Task: Task{Command: "true"}, Output: &OutputSpec{Model: "m", Keep: []string{"*.pt", "[x"}}}
	if err := j.CheckSubmit(); err == nil || !strings.Contains(err.Error(), `"[x" is not a glob`) {
		t.Errorf("CheckSubmit of a bad keep glob: %v", err)
	}
	if err := j.Validate(); err != nil {
		t.Errorf("Validate of a job with a bad keep glob: %v; the state machine must take it as before", err)
	}
}
