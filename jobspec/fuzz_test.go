package jobspec

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes the parser panic, that every
// failure is a *DiagError that formats, that every job it returns is
// valid, and that it parses as plainParse does (a sweep's members decoded
// in full, nothing remembered between them). Crashers found by `go test -fuzz` go to testdata/fuzz/FuzzParse and
// run as regression cases in every `go test`.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/valid/*.hcl", "testdata/invalid/*.hcl", "testdata/valid/*.vars"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, path := range files {
			src, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(src)
		}
	}
	f.Add([]byte(`{"name": "j", "task": {"command": "true"}}`))
	// Sweeps whose members a template makes: checkMemo compares them
	// with every member decoded in full.
	for _, tc := range sweepCases {
		f.Add([]byte(tc.src))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		res, err := Parse("fuzz.hcl", src, Options{Now: testNow})
		checkMemo(t, "fuzz.hcl", src, Options{Now: testNow}, res, err)
		if err != nil {
			var de *DiagError
			if !errors.As(err, &de) {
				t.Fatalf("error is a %T, not a *DiagError: %v", err, err)
			}
			if len(de.Diags) == 0 {
				t.Fatal("DiagError without diagnostics")
			}
			_ = de.Error()
			if err := de.Format(io.Discard, 80, false); err != nil {
				t.Fatalf("format: %v", err)
			}
			return
		}
		if len(res.Jobs) == 0 {
			t.Fatal("no error and no jobs")
		}
		for _, j := range res.Jobs {
			if err := j.Validate(); err != nil {
				t.Fatalf("returned job does not validate: %v", err)
			}
			if _, err := json.Marshal(j); err != nil {
				t.Fatalf("marshal: %v", err)
			}
		}
	})
}
