package jobspec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/nai-project/nai/structs"
)

// specOnly drops what a job file cannot hold (state, owner, sweep
// membership, the code digest), so a job and its re-parsed HCL compare.
func specOnly(j *structs.Job) *structs.Job {
	c := j.Copy()
	c.ID, c.User = "", "" // the code digest survives: code = "sha256:..."
	c.ArrayID, c.ArrayIndex, c.ArraySize, c.MaxParallel, c.SweepValues = "", 0, 0, 0, nil
	c.Status, c.Reason, c.GPUs, c.Attempt = "", "", nil, 0
	c.SubmitTime, c.StartTime, c.EndTime = time.Time{}, time.Time{}, time.Time{}
	c.CreateIndex, c.ModifyIndex = 0, 0
	for i := range c.Datasets {
		c.Datasets[i].Digest = ""
	}
	for i := range c.Models {
		c.Models[i].Digest = ""
	}
	return c
}

// roundTrip formats job as HCL, parses it back and compares the specs.
func roundTrip(t *testing.T, job *structs.Job) []byte {
	t.Helper()
	src := FormatHCL(job)
	res, err := Parse("formatted.hcl", src, Options{Now: testNow})
	if err != nil {
		t.Fatalf("the formatted job does not parse: %v\n%s", err, src)
	}
	if len(res.Jobs) != 1 {
		t.Fatalf("the formatted job parses into %d jobs", len(res.Jobs))
	}
	if diff := cmp.Diff(specOnly(job), specOnly(res.Jobs[0]), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("round trip changed the job (-want +got):\n%s\nformatted:\n%s", diff, src)
	}
	return src
}

// Every valid test file, parsed, formatted and parsed again, gives the
// same jobs (each sweep member on its own, its values written in).
func TestFormatHCLRoundTrip(t *testing.T) {
	files, err := filepath.Glob("testdata/valid/*.hcl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no valid test files: %v", err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".hcl"), func(t *testing.T) {
			res, err := ParseFile(path, optionsFor(t, path))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			for _, j := range res.Jobs {
				roundTrip(t, j)
			}
		})
	}
}

// Values that need care in HCL survive: template sequences, quotes and
// newlines in strings, a script with a line that looks like the heredoc
// delimiter, sizes no unit divides, a begin time with nanoseconds.
func TestFormatHCLEscapes(t *testing.T) {
	base := func() *structs.Job {
		return &structs.Job{
			Name: "tricky", Queue: "default", Priority: 7, TimeLimit: structs.Duration(90 * time.Second),
			BeginTime:   time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.UTC),
			Description: "uses ${not.a.var} and %{ if } with \"quotes\"\nand a newline",
			Labels:      map[string]string{"team": "vision", "odd key": "x", "dotted.key": "${y}"},
			Resources: structs.Resources{CPU: 0.25, MemoryBytes: 1<<30 + 12345, DiskBytes: 500e9, Nodes: 3, Exclusive: true,
				GPU: structs.GPURequest{Count: 0, Model: "A100"}},
			Task: structs.Task{Command: "python3", Args: []string{"--lr=${LR}", "", "a\tb"}, NProcPerNode: 3,
				Env: map[string]string{"A_B": "1", "PATHS": "x:$PATH"}, Workdir: "src", User: "trainer"},
			DependsOn: []structs.Dependency{{Type: structs.AfterNotOK, JobID: "3_1"}, {Type: structs.AfterAny, JobID: "9"}},
			Singleton: true,
			LogPaths:  &structs.LogPaths{Stdout: "logs/%x-%j.out", Stderr: "${not}-%%{x}.err"},
			Retry:     &structs.RetryPolicy{Attempts: 0},
			Output:    &structs.OutputSpec{},
			Datasets:  []structs.ArtifactRef{{Name: "imagenet", Version: "12", Digest: "sha256:abc"}},
			Models:    []structs.ArtifactRef{{Name: "base", Version: "latest"}},
		}
	}
	scripts := []struct {
		name, script string
		heredoc      bool
	}{
		{"heredoc", "set -e\necho \"${HOME}\" %{x}\n  EOT\nEOT\n", true},
		{"no trailing newline", "echo hi\necho there", false},
		{"carriage return", "printf 'a\rb'\n", false}, // a lone \r; \r\n is refused (DOS line breaks)
		{"blank lines", "\n\necho x\n\n", true},
	}
	for _, tc := range scripts {
		t.Run(tc.name, func(t *testing.T) {
			j := base()
			j.Task.Command, j.Task.Args, j.Task.Script = "", nil, tc.script
			src := roundTrip(t, j)
			if got := strings.Contains(string(src), "<<EOT"); got != tc.heredoc {
				t.Errorf("heredoc = %v, want %v:\n%s", got, tc.heredoc, src)
			}
		})
	}
	t.Run("command", func(t *testing.T) {
		roundTrip(t, base())
	})
}

// The header says what the file cannot (id, owner, sweep); the code is
// named by its digest, so the file submits the same code again.
func TestFormatHCLHeader(t *testing.T) {
	j := &structs.Job{
		ID: "12", User: "alice", Name: "lr-search", Queue: "default", Priority: 50,
		ArrayID: "10", ArrayIndex: 2, MaxParallel: 2, SweepValues: map[string]string{"lr": "0.1", "batch": "32"},
		Code:      strings.Repeat("0123", 16),
		Resources: structs.Resources{CPU: 1, MemoryBytes: 1 << 30, Nodes: 1, GPU: structs.GPURequest{Count: 1}},
		Task:      structs.Task{Command: "python3", Env: map[string]string{"NAI_SWEEP_LR": "0.1"}},
	}
	src := roundTrip(t, j)
	want := `# Job 12, owned by alice.
# Member 2 of sweep 10 (batch=32, lr=0.1), max_parallel 2; its values are written in below.
# Its code is named by digest below; write code = "./folder" to upload a folder instead.

job "lr-search" {
  queue    = "default"
  priority = 50
  code     = "sha256:0123012301230123012301230123012301230123012301230123012301230123"

  resources {
    cpu    = 1
    memory = "1GiB"
    gpu {
      count = 1
    }
  }

  task {
    command = "python3"
    env = {
      NAI_SWEEP_LR = "0.1"
    }
  }
}
`
	if diff := cmp.Diff(want, string(src)); diff != "" {
		t.Errorf("formatted job (-want +got):\n%s", diff)
	}
}

func TestExactSize(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{128 << 30, "128GiB"}, {500e9, "500GB"}, {1536 << 20, "1536MiB"}, {1 << 40, "1TiB"},
		{1000, "1kB"}, {1023, "1023B"}, {3 << 10, "3KiB"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := exactSize(tc.n); got != tc.want {
				t.Errorf("exactSize(%d) = %q, want %q", tc.n, got, tc.want)
			}
			if back, err := structs.ParseSize(tc.want); err != nil || back != tc.n {
				t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.want, back, err, tc.n)
			}
		})
	}
}

func TestShortDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{2*time.Hour + 30*time.Minute, "2h30m"}, {2 * time.Hour, "2h"}, {5 * time.Minute, "5m"},
		{90 * time.Second, "1m30s"}, {time.Hour + 30*time.Second, "1h0m30s"}, {1500 * time.Millisecond, "1.5s"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			got := shortDuration(tc.d)
			if got != tc.want {
				t.Errorf("shortDuration(%s) = %q, want %q", tc.d, got, tc.want)
			}
			if back, err := time.ParseDuration(got); err != nil || back != tc.d {
				t.Errorf("ParseDuration(%q) = %s, %v; want %s", got, back, err, tc.d)
			}
		})
	}
}

// FuzzFormatHCL checks that every job the parser accepts (from HCL or
// JSON) formats to HCL that parses back to the same spec.
func FuzzFormatHCL(f *testing.F) {
	for _, pattern := range []string{"testdata/valid/*.hcl"} {
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
	f.Add([]byte(`{"name": "j", "labels": {"": "x", "a b": "${y}"}, "task": {"script": "echo\n EOT\n"}}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		res, err := Parse("fuzz.hcl", src, Options{Now: testNow})
		if err != nil {
			return
		}
		// Members of a sweep differ only in their values: a few will do.
		for _, j := range res.Jobs[:min(len(res.Jobs), 3)] {
			roundTrip(t, j)
		}
	})
}

// A member of an --array array, written as a job file, runs as that member
// again: its task id in SLURM_ARRAY_TASK_ID (which nodes set only for an
// array's members) and in its log paths' %a and %A; %% and other codes
// stay.
func TestFormatHCLArrayMemberAlone(t *testing.T) {
	j := &structs.Job{
		ID: "58", User: "alice", Name: "fol", Queue: "default", Priority: 50,
		ArrayID: "57", ArrayIndex: 1, ArraySize: 3, SweepValues: map[string]string{structs.ArrayTaskIDKey: "2"},
		Resources: structs.Resources{CPU: 1, MemoryBytes: 1 << 30, Nodes: 1},
		Task:      structs.Task{Script: "echo t$SLURM_ARRAY_TASK_ID\n", Env: map[string]string{"NAI_SWEEP_SLURM_ARRAY_TASK_ID": "2"}},
		LogPaths:  &structs.LogPaths{Stdout: "fol-%A_%a.out", Stderr: "e-%4a-%%-%j-%"},
	}
	src := FormatHCL(j)
	if !strings.HasPrefix(string(src), "# Job 58, owned by alice.\n# Member 57_2 (of 3) of array 57; its task id is written in below.\n") {
		t.Errorf("header:\n%s", src)
	}
	res, err := Parse("member.hcl", src, Options{Now: testNow})
	if err != nil {
		t.Fatalf("the member's file does not parse: %v\n%s", err, src)
	}
	got := res.Jobs[0]
	if v := got.Task.Env[structs.ArrayTaskIDKey]; v != "2" {
		t.Errorf("SLURM_ARRAY_TASK_ID = %q, want 2\n%s", v, src)
	}
	if l := got.LogPaths; l == nil || l.Stdout != "fol-57_2.out" || l.Stderr != "e-0002-%%-%j-%" {
		t.Errorf("log paths %+v, want fol-57_2.out and e-0002-%%%%-%%j-%%\n%s", l, src)
	}
	if j.Task.Env[structs.ArrayTaskIDKey] != "" || j.LogPaths.Stdout != "fol-%A_%a.out" {
		t.Errorf("FormatHCL changed the job it was given")
	}
}
