package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

const sbatchScript = `#!/bin/bash
#SBATCH --job-name=train
#SBATCH --gres=gpu:2 --time=1:00:00
#SBATCH --mail-type=END
#SBATCH --output=logs/%x-%j.out
python3 train.py
`

func TestJobConvert(t *testing.T) {
	noServer(t)
	code, stdout, stderr := runCLI(t, "job", "convert", writeFile(t, "train.sh", sbatchScript))
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	for _, want := range []string{`job "train" {`, `time_limit = "1h"`, "count = 2", `stdout = "logs/%x-%j.out"`, `code       = "."`, "#SBATCH --mail-type=END"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !regexp.MustCompile(`train\.sh:4: warning: --mail-type=END is not supported`).MatchString(stderr) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr should hold the one warning, with its line:\n%s", stderr)
	}
	// The printed job file is itself a valid job file.
	hcl := writeFile(t, "train.hcl", stdout)
	if code, _, stderr := runCLI(t, "job", "validate", hcl); code != 0 {
		t.Errorf("the converted job file does not validate:\n%s", stderr)
	}
}

func TestJobConvertRefuses(t *testing.T) {
	noServer(t)
	tests := []struct {
		name, file, body string
		want             string
	}{
		{"a job file", "ok.hcl", validJob, "is not a batch script"},
		{"a bad script", "bad.sh", "#!/bin/bash\n#SBATCH --array=5-1\necho\n", `bad\.sh:2:9: error: Invalid --array[\s\S]*\^[\s\S]*runs backwards`},
		{"a missing file", "", "", "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "missing.sh")
			if tc.file != "" {
				path = writeFile(t, tc.file, tc.body)
			}
			code, stdout, stderr := runCLI(t, "job", "convert", path)
			if code != 1 || stdout != "" || !regexp.MustCompile(tc.want).MatchString(stderr) {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 1, nothing on stdout and %s", code, stdout, stderr, tc.want)
			}
		})
	}
}

// `nai job validate` (and run and plan) read a script like a job file,
// warnings on stderr; a bad script is refused before any request.
func TestJobValidateScript(t *testing.T) {
	noServer(t)
	file := writeFile(t, "train.sh", sbatchScript)
	code, stdout, stderr := runCLI(t, "job", "validate", file)
	if code != 0 || stdout != file+" is valid: job \"train\"\n" || !strings.Contains(stderr, "train.sh:4: warning: --mail-type=END") {
		t.Errorf("got exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	bad := writeFile(t, "bad.sh", "#!/bin/bash\n#SBATCH --time=bogus\necho\n")
	for _, args := range [][]string{{"job", "run", bad}, {"job", "run", "-detach", bad}, {"job", "validate", bad}} {
		code, stdout, stderr := runCLI(t, args...)
		if code != 1 || stdout != "" || !strings.Contains(stderr, "bad.sh:2:9: error: Invalid --time") {
			t.Errorf("%v: exit %d, stdout %q, stderr:\n%s", args, code, stdout, stderr)
		}
	}
	code, _, stderr = runCLI(t, "job", "validate", "-var", "x=1", file)
	if code != 1 || !strings.Contains(stderr, "Variables given for a script") {
		t.Errorf("-var with a script: exit %d, stderr:\n%s", code, stderr)
	}
}

// The logs of a job with --output/--error land in those files, patterns
// filled in, relative to the current directory.
func TestSaveLogFiles(t *testing.T) {
	tests := []struct {
		name  string
		paths structs.LogPaths
		want  map[string]string
	}{
		{"output and error", structs.LogPaths{Stdout: "logs/%x-%j.out", Stderr: "logs/%x-%j.err"},
			map[string]string{"logs/train-7.out": "step 1\n", "logs/train-7.err": "warn\n"}},
		{"output only: stderr follows stdout", structs.LogPaths{Stdout: "out/%u/%A_%a.log"},
			map[string]string{"out/alice/7_0.log": "step 1\nwarn\n"}},
		{"the same file twice", structs.LogPaths{Stdout: "both.log", Stderr: "./both.log"},
			map[string]string{"both.log": "step 1\nwarn\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAgent{t: t, logs: "step 1\n", stderr: "warn\n"}
			f.start()
			dir := t.TempDir()
			t.Chdir(dir)
			if err := os.WriteFile(filepath.Join(dir, "both.log"), []byte("old content, longer than the new\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			cl, err := api.NewClient(os.Getenv("NAI_ADDR"))
			if err != nil {
				t.Fatal(err)
			}
			j := testJob("7", "train", structs.JobComplete, ended(0, 0, intp(0), structs.ExitExited))
			j.LogPaths = &tc.paths
			var errw strings.Builder
			saveLogFiles(t.Context(), cl, j, &errw)
			for path, want := range tc.want {
				got, err := os.ReadFile(filepath.Join(dir, path))
				if err != nil || string(got) != want {
					t.Errorf("%s = %q (%v), want %q", path, got, err, want)
				}
			}
			if !strings.Contains(errw.String(), "==> job 7:") {
				t.Errorf("no word of the files written: %q", errw.String())
			}
		})
	}
	// A job that never ran has no logs to write.
	j := testJob("8", "never", structs.JobCancelled)
	j.LogPaths = &structs.LogPaths{Stdout: filepath.Join(t.TempDir(), "x.out")}
	saveLogFiles(t.Context(), nil, j, nil)
	if _, err := os.Stat(j.LogPaths.Stdout); err == nil {
		t.Error("a log file was written for a job that never ran")
	}
}
