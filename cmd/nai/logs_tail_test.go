package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nai-project/nai/structs"
)

// nai job logs -tail N reads only the end of a large log: a window from
// the end that grows until it holds N whole lines. It used to download the
// whole log to keep its last lines.
func TestLogsTailReadsTheEnd(t *testing.T) {
	var big strings.Builder
	for i := 1; i <= 200000; i++ { // about 4 MB
		fmt.Fprintf(&big, "step %d loss 0.%06d\n", i, i)
	}
	long := strings.Repeat("x", 50<<10) // lines longer than the first window
	var wide strings.Builder
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&wide, "wide %d %s\n", i, long)
	}
	tests := []struct {
		name, log string
		args      []string
		want      string
		maxBytes  int64
	}{
		{"last lines of a big log", big.String(), []string{"-tail", "5"},
			"step 199996 loss 0.199996\nstep 199997 loss 0.199997\nstep 199998 loss 0.199998\nstep 199999 loss 0.199999\nstep 200000 loss 0.200000\n", 64 << 10},
		{"lines longer than the window", wide.String(), []string{"-tail", "3"},
			fmt.Sprintf("wide 8 %s\nwide 9 %s\nwide 10 %s\n", long, long, long), 64<<10 + 256<<10},
		{"no newline at the end", "a\nb\nc", []string{"-tail", "2"}, "b\nc", 64 << 10},
		{"fewer lines than asked", "a\nb\n", []string{"-tail", "5"}, "a\nb\n", 64 << 10},
		{"tail 0", big.String(), []string{"-tail", "0"}, "", 64 << 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeCluster{t: t, jobs: []*structs.Job{testJob("18", "train", structs.JobComplete)}, logs: map[string]string{"18/stdout": tc.log}}
			f.start()
			code, out, errOut := runCLI(t, append(append([]string{"job", "logs"}, tc.args...), "18")...)
			if code != 0 || out != tc.want {
				t.Fatalf("exit %d\nstdout %.200q\nwant   %.200q\nstderr %s", code, out, tc.want, errOut)
			}
			if f.logBytes > tc.maxBytes {
				t.Errorf("read %d bytes of a %d-byte log; want at most %d", f.logBytes, len(tc.log), tc.maxBytes)
			}
		})
	}
}
