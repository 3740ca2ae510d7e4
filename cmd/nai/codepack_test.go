package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nai-project/nai/internal/ignore"
	"github.com/nai-project/nai/structs"
)

// The log files the CLI writes for a job (#SBATCH --output/--error, a
// logs block) are left out of its code folder, for every earlier run too.
func TestLogIgnores(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	job := func(out, errp string) *structs.Job {
		return &structs.Job{Name: "train", LogPaths: &structs.LogPaths{Stdout: out, Stderr: errp}}
	}
	tests := []struct {
		name string
		dir  string
		jobs []*structs.Job
		want []string
	}{
		{"slurm's default", wd, []*structs.Job{job("slurm-%j.out", "")}, []string{"/slurm-*.out"}},
		{"name, id and array task", wd, []*structs.Job{job("logs/%x-%A_%4a.out", "logs/%x-%j.err")}, []string{"/logs/train-*_*.out", "/logs/train-*.err"}},
		{"glob characters and %%", wd, []*structs.Job{job("run[1]*%%.log", "")}, []string{`/run\[1]\*%.log`}},
		{"below the code folder", filepath.Dir(wd), []*structs.Job{job("out-%j.txt", "")}, []string{"/" + filepath.Base(wd) + "/out-*.txt"}},
		{"outside the code folder", filepath.Join(wd, "src"), []*structs.Job{job("out-%j.txt", "/tmp/x-%j.err")}, nil},
		{"no logs", wd, []*structs.Job{{Name: "x"}}, nil},
		{"a sweep's members once", wd, []*structs.Job{job("%x-%j.out", ""), job("%x-%j.out", "")}, []string{"/train-*.out"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := logIgnores(tc.dir, tc.jobs); !slices.Equal(got, tc.want) {
				t.Errorf("logIgnores = %q, want %q", got, tc.want)
			}
		})
	}
	// And the matcher leaves them out.
	m, err := ignore.LoadCode(t.TempDir(), logIgnores(wd, []*structs.Job{job("logs/%x-%j.out", "")})...)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{"logs/train-12.out": true, "logs/train-12_3.out": true, "logs/other-12.out": false, "job-12-outputs": true, "train.py": false} {
		if got := m.Match(path, strings.HasSuffix(path, "outputs")); got != want {
			t.Errorf("Match(%q) = %v, want %v", path, got, want)
		}
	}
}

// A batch script in the home directory would upload the whole home as
// its code: refused unless -code says which folder.
func TestScriptInHomeRefused(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	script := filepath.Join(home, "job.sh")
	if err := os.WriteFile(script, []byte("#!/bin/bash\n#SBATCH -J x\necho hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	noServer(t)
	code, _, stderr := runCLI(t, "job", "run", script)
	if code != 1 || !strings.Contains(stderr, "is in your home directory "+home+", which would be uploaded whole as the job's code: give the folder the job needs with -code DIR") {
		t.Errorf("exit %d, stderr %q; want the home directory refused", code, stderr)
	}
}

// -code names the home directory on purpose: it is uploaded.
func TestScriptInHomeWithCode(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	script := filepath.Join(home, "job.sh")
	if err := os.WriteFile(script, []byte("#!/bin/bash\n#SBATCH -J x\necho hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &fakeCluster{t: t}
	f.start()
	code, _, stderr := runCLI(t, "job", "run", "-detach", "-code", home, script)
	if code != 0 || len(f.submitted) != 1 {
		t.Errorf("exit %d, %d jobs submitted; stderr %q", code, len(f.submitted), stderr)
	}
}
