package jobspec

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/nai-project/nai/structs"
)

// submitEnv is the submitting environment every script test sees, for
// --export=NAME.
var submitEnv = map[string]string{"WANDB_PROJECT": "digits", "HOME": "/home/alice"}

func scriptOptions() Options {
	return Options{Now: testNow, LookupEnv: func(k string) (string, bool) { v, ok := submitEnv[k]; return v, ok }}
}

// corpus lists the scripts of testdata/sbatch.
func corpus(t testing.TB) []string {
	var files []string
	for _, pattern := range []string{"testdata/sbatch/*.sh", "testdata/sbatch/*.sbatch"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 20 {
		t.Fatalf("the sbatch corpus has %d scripts; it should have at least 20", len(files))
	}
	return files
}

func formatWarnings(ws []Warning) []byte {
	var b strings.Builder
	for _, w := range ws {
		b.WriteString(w.String())
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// Every script of the corpus converts to its golden job file and golden
// warnings, and the job file, read back by the HCL reader, submits exactly
// the jobs the script does.
func TestSbatchCorpus(t *testing.T) {
	for _, path := range corpus(t) {
		base := strings.TrimSuffix(path, filepath.Ext(path))
		t.Run(filepath.Base(base), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !IsScript(path, src) {
				t.Fatalf("IsScript(%s) = false", path)
			}
			hclSrc, warnings, err := ConvertScript(path, src, scriptOptions())
			if err != nil {
				t.Fatalf("convert: %v", err)
			}
			checkGolden(t, base+".hcl", hclSrc)
			checkGolden(t, base+".warnings", formatWarnings(warnings))

			res, err := ParseFile(path, scriptOptions())
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if !res.Script || len(res.Jobs) == 0 {
				t.Fatalf("parse: Script = %v with %d jobs", res.Script, len(res.Jobs))
			}
			if diff := cmp.Diff(warnings, res.Warnings); diff != "" {
				t.Errorf("ParseFile and ConvertScript warn differently (-convert +parse):\n%s", diff)
			}
			for _, j := range res.Jobs {
				if err := j.Validate(); err != nil {
					t.Errorf("job %d does not validate: %v", j.ArrayIndex, err)
				}
				if j.Task.Script != string(src) {
					t.Errorf("the task script is not the script itself")
				}
			}
			back, err := Parse(base+".hcl", hclSrc, Options{Now: testNow})
			if err != nil {
				t.Fatalf("the converted job file does not parse: %v\n%s", err, hclSrc)
			}
			if back.Script || back.CodePath != res.CodePath || back.Sweep != res.Sweep {
				t.Errorf("job file: Script %v, CodePath %q, Sweep %v; script: CodePath %q, Sweep %v", back.Script, back.CodePath, back.Sweep, res.CodePath, res.Sweep)
			}
			if diff := cmp.Diff(res.Jobs, back.Jobs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("the converted job file submits other jobs (-script +job file):\n%s", diff)
			}
		})
	}
}

func TestSbatchInvalid(t *testing.T) {
	files, err := filepath.Glob("testdata/sbatch/invalid/*.sh")
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid scripts: %v", err)
	}
	for _, path := range files {
		base := strings.TrimSuffix(path, ".sh")
		t.Run(filepath.Base(base), func(t *testing.T) {
			opts := optionsFor(t, base+".hcl") // reads NAME.flags
			opts.LookupEnv = scriptOptions().LookupEnv
			res, err := ParseFile(path, opts)
			if err == nil {
				t.Fatalf("parse succeeded with %d jobs; want diagnostics", len(res.Jobs))
			}
			checkGolden(t, base+".txt", formatDiags(t, err))
		})
	}
}

// The exact messages of the bad inputs.
func TestSbatchBadInputMessages(t *testing.T) {
	tests := []struct {
		script string
		want   string
	}{
		{"#SBATCH --array=5-1\necho x\n",
			"job.sh:1:9: Invalid --array; The range 5-1 runs backwards: expected START-END with START at most END, such as 1-5."},
		{"#SBATCH --time=bogus\necho x\n",
			`job.sh:1:9: Invalid --time; "bogus" is not a Slurm time: expected minutes ("90"), MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS ("1-12:00:00") or UNLIMITED.`},
		{"#SBATCH --mem=lots\necho x\n",
			`job.sh:1:9: Invalid --mem; "lots" is not a Slurm memory size: expected megabytes ("4000") or a whole number with a unit K, M, G or T ("16G": 16 GiB).`},
		{"#SBATCH --mem=2\necho x\n",
			"job.sh:1:9: Invalid --mem; 2 is below the 4MiB a task needs: a bare number is megabytes, so give a size such as 512 (512 MiB), 512M or 8G."},
		{"#SBATCH -t\n",
			"job.sh:1:9: Missing value; -t (--time) needs a value on the same line, as in -t VALUE."},
	}
	for _, tc := range tests {
		t.Run(tc.script, func(t *testing.T) {
			_, err := ParseScript("job.sh", []byte(tc.script), Options{Now: testNow})
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n got %s\nwant %s", err, tc.want)
			}
		})
	}
	// A directive after the first command is not an error but a note.
	res, err := ParseScript("job.sh", []byte("#SBATCH -t 5\necho x\n#SBATCH -t 10\n"), Options{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	want := []Warning{{Filename: "job.sh", Line: 3, Note: true, Message: "#SBATCH after the first command (line 2) is ignored, as sbatch ignores it: move it above line 2"}}
	if diff := cmp.Diff(want, res.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if got := res.Jobs[0].TimeLimit.D(); got != 5*time.Minute {
		t.Errorf("time limit %s: the directive after the command was not ignored", got)
	}
}

func TestDirectiveWords(t *testing.T) {
	tests := []struct {
		line string
		want map[string]string // option -> value
	}{
		{`#SBATCH --job-name=a --time 10`, map[string]string{"job-name": "a", "time": "10"}},
		{`#SBATCH -J a -t10 -N 2`, map[string]string{"job-name": "a", "time": "10", "nodes": "2"}},
		{`#SBATCH --comment="a b" # --time=5`, map[string]string{"comment": "a b"}},
		{`#SBATCH --comment=a#b`, map[string]string{"comment": "a"}},
		{`#SBATCH --comment="a#b"`, map[string]string{"comment": "a#b"}},
		{`#SBATCH --comment=a\ b\#c`, map[string]string{"comment": "a b#c"}},
		{`#SBATCH --comment='x "y"' --exclusive`, map[string]string{"comment": `x "y"`, "exclusive": ""}},
		{"#SBATCH\t-c\t4", map[string]string{"cpus-per-task": "4"}},
		{`#SBATCH --workdir=src`, map[string]string{"chdir": "src"}},
		{`#SBATCH --time=5 --time=6`, map[string]string{"time": "6"}},
		// getopt_long takes an abbreviation of one option, as sbatch does.
		{`#SBATCH --job-n=a --cpus-per-t 4 --exclusiv`, map[string]string{"job-name": "a", "cpus-per-task": "4", "exclusive": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			p := &scriptParser{filename: "t.sh", last: map[string]*directive{}}
			p.directiveLine(tc.line, 1, 0)
			if p.diags.HasErrors() {
				t.Fatalf("diagnostics: %v", p.diags)
			}
			got := map[string]string{}
			for k, d := range p.last {
				got[k] = d.value
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSlurmTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{in: "90", want: 90 * time.Minute},
		{in: "5:30", want: 5*time.Minute + 30*time.Second},
		{in: "2:00:00", want: 2 * time.Hour},
		{in: "1-12", want: 36 * time.Hour},
		{in: "1-12:30", want: 36*time.Hour + 30*time.Minute},
		{in: "2-00:00:01", want: 48*time.Hour + time.Second},
		{in: "UNLIMITED"}, {in: "infinite"}, {in: "0"},
		{in: "366-00:00:00", want: 366 * 24 * time.Hour},
		{in: "367-00", bad: true}, {in: "bogus", bad: true}, {in: "", bad: true}, {in: "1:2:3:4", bad: true},
		{in: "-5", bad: true}, {in: "1--2", bad: true}, {in: "1.5", bad: true}, {in: "999999999999", bad: true},
		{in: "1-2-3", bad: true}, {in: "1-:", bad: true}, {in: "10h", bad: true},
	}
	for _, tc := range tests {
		got, err := parseSlurmTime(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("parseSlurmTime(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func TestParseSlurmMem(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "4000", want: 4000 << 20}, {in: "512K", want: 512 << 10}, {in: "16G", want: 16 << 30},
		{in: "2t", want: 2 << 40}, {in: "100m", want: 100 << 20}, {in: "0", want: 0},
		{in: "64T", want: 64 << 40}, {in: "65T", bad: true},
		{in: "lots", bad: true}, {in: "", bad: true}, {in: "G", bad: true}, {in: "4GB", bad: true},
		{in: "1.5G", bad: true}, {in: "-1", bad: true},
	}
	for _, tc := range tests {
		got, err := parseSlurmMem(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("parseSlurmMem(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func TestParseArray(t *testing.T) {
	tests := []struct {
		in      string
		ids     []int
		maxPar  int
		wantErr string
	}{
		{in: "0-15:4%2", ids: []int{0, 4, 8, 12}, maxPar: 2},
		{in: "1,3,5", ids: []int{1, 3, 5}},
		{in: "7", ids: []int{7}},
		{in: "5,1-3,2", ids: []int{1, 2, 3, 5}},
		{in: "0-9999", ids: nil},
		{in: "5-1", wantErr: "the range 5-1 runs backwards"},
		{in: "0-10000", wantErr: "makes more than 10000 jobs"},
		{in: "0-3:0", wantErr: "step \"0\""},
		{in: "3:2", wantErr: "a step goes with a range"},
		{in: "1-3%0", wantErr: "%0 is not a limit"},
		{in: "%2", wantErr: "names no task ids"},
		{in: "a-b", wantErr: "is not a task id or range"},
		{in: "1,,2", wantErr: "is not a task id or range"},
		{in: "0-4000001", wantErr: "larger than the limit"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseArray(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.ids == nil { // only the size is checked
				if len(got.ids) != 10000 {
					t.Errorf("%d ids", len(got.ids))
				}
				return
			}
			if diff := cmp.Diff(tc.ids, got.ids); diff != "" || got.maxParallel != tc.maxPar {
				t.Errorf("ids (-want +got):\n%s max_parallel %d, want %d", diff, got.maxParallel, tc.maxPar)
			}
		})
	}
}

func TestParseGres(t *testing.T) {
	tests := []struct {
		in     string
		gpu    *gpuSpec
		others []string
		bad    bool
	}{
		{in: "gpu:2", gpu: &gpuSpec{count: 2}},
		{in: "gpu:a100:2", gpu: &gpuSpec{model: "a100", count: 2}},
		{in: "gpu", gpu: &gpuSpec{count: 1}},
		{in: "gpu:v100", gpu: &gpuSpec{model: "v100", count: 1}},
		{in: "gres/gpu:4(S:0-1)", gpu: &gpuSpec{count: 4}},
		{in: "nvme:1,gpu:1", gpu: &gpuSpec{count: 1}, others: []string{"nvme"}},
		{in: "none"},
		{in: "gpu:1,gpu:2", bad: true}, {in: "gpu::2", bad: true}, {in: "gpu:a:b:c", bad: true}, {in: ":2", bad: true},
		{in: "gpu:a100:x", bad: true}, {in: "gpu:2000", bad: true},
	}
	for _, tc := range tests {
		gpu, others, err := parseGres(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("parseGres(%q): error %v, want error %v", tc.in, err, tc.bad)
			continue
		}
		if diff := cmp.Diff(tc.gpu, gpu, cmp.AllowUnexported(gpuSpec{})); diff != "" || !cmp.Equal(tc.others, others) {
			t.Errorf("parseGres(%q) = %v %v (-want +got):\n%s", tc.in, gpu, others, diff)
		}
	}
}

func TestParseDependency(t *testing.T) {
	deps, single, err := ParseDependency("afterok:1:2,afterany:3,afternotok:4_2,singleton")
	if err != nil {
		t.Fatal(err)
	}
	want := []structs.Dependency{{Type: structs.AfterOK, JobID: "1"}, {Type: structs.AfterOK, JobID: "2"},
		{Type: structs.AfterAny, JobID: "3"}, {Type: structs.AfterNotOK, JobID: "4_2"}}
	if diff := cmp.Diff(want, deps); diff != "" || !single {
		t.Errorf("deps (-want +got):\n%s singleton %v", diff, single)
	}
	for in, wantErr := range map[string]string{
		"after:12":            "cannot start a job when another starts",
		"afterok:1?afterok:2": "'?'",
		"aftercorr:5":         "aftercorr",
		"afterok":             "names no job",
		"afterok:":            "names no job",
		"afterok:5+10":        "delay",
		"aftrok:5":            `or singleton (did you mean "afterok"?)`,
		"afterok:$PREV":       "is not a job id",
		"afterok:abc":         `"abc" is not a job id: expected a number such as 12, or an array member such as 12_3`,
		"afterany:12_x":       "is not a job id",
		"afterok:012":         "is not a job id",
		"":                    "is not a dependency",
	} {
		if _, _, err := ParseDependency(in); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("ParseDependency(%q): error %v, want one containing %q", in, err, wantErr)
		}
	}
}

func TestParseBegin(t *testing.T) {
	now := time.Date(2026, 1, 1, 15, 30, 0, 0, time.UTC)
	at := func(d, h, m int) time.Time { return time.Date(2026, 1, d, h, m, 0, 0, time.UTC) }
	tests := []struct {
		in   string
		want time.Time
		rel  bool
		bad  bool
	}{
		{in: "now", want: now, rel: true},
		{in: "now+60", want: now.Add(time.Minute), rel: true},
		{in: "now+1hour", want: now.Add(time.Hour), rel: true},
		{in: "now+2days", want: now.Add(48 * time.Hour), rel: true},
		{in: "now+1week", want: now.Add(7 * 24 * time.Hour), rel: true},
		{in: "16:00", want: at(1, 16, 0)},
		{in: "09:15", want: at(2, 9, 15)}, // passed today: tomorrow
		{in: "midnight", want: at(2, 0, 0)},
		{in: "noon", want: at(2, 12, 0)},
		{in: "teatime", want: at(1, 16, 0)},
		{in: "today", want: at(1, 0, 0)},
		{in: "tomorrow", want: at(2, 0, 0)},
		{in: "2026-03-01", want: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{in: "2026-03-01T09:00", want: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)},
		{in: "2026-03-01T09:00:30", want: time.Date(2026, 3, 1, 9, 0, 30, 0, time.UTC)},
		{in: "2031-01-01", bad: true}, {in: "now+53weeks", bad: true}, {in: "now+1fortnight", bad: true},
		{in: "whenever", bad: true}, {in: "now+", bad: true}, {in: "25:00", bad: true},
	}
	for _, tc := range tests {
		got, _, rel, err := parseBegin(tc.in, now)
		if (err != nil) != tc.bad || !got.Equal(tc.want) || rel != tc.rel {
			t.Errorf("parseBegin(%q) = %v (relative %v), %v; want %v (relative %v, error %v)", tc.in, got, rel, err, tc.want, tc.rel, tc.bad)
		}
	}
}

func TestExpandLogPath(t *testing.T) {
	job := &structs.Job{ID: "42", Name: "train", User: "alice", NodeName: "gpu-1"}
	member := &structs.Job{ID: "57", Name: "sweep", ArrayID: "50", ArrayIndex: 7, SweepValues: map[string]string{structs.ArrayTaskIDKey: "12"}}
	plain := &structs.Job{ID: "61", ArrayID: "60", ArrayIndex: 1}
	tests := []struct {
		job  *structs.Job
		in   string
		want string
	}{
		{job, "slurm-%j.out", "slurm-42.out"},
		{job, "%x-%u-%N-%J.log", "train-alice-gpu-1-42.log"},
		{job, "%A_%a", "42_0"},
		{job, "100%%-%5j", "100%-00042"},
		{job, "odd-%q-%", "odd-%q-%"},
		{member, "logs/%x-%A_%3a.out", "logs/sweep-50_012.out"},
		{plain, "%A.%a", "60.1"},
	}
	for _, tc := range tests {
		if got := ExpandLogPath(tc.in, tc.job); got != tc.want {
			t.Errorf("ExpandLogPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := checkLogPattern("a-%j-%q-%5a-%s-%"); !cmp.Equal(got, []string{"%q", "%s", "%"}) {
		t.Errorf("checkLogPattern = %q", got)
	}
}

func TestIsScript(t *testing.T) {
	tests := []struct {
		name, src string
		want      bool
	}{
		{"train.hcl", "job \"x\" {}\n", false},
		{"job.json", "{}", false},
		{"run", "#!/bin/bash\necho\n", true},
		{"run", "# header\n#SBATCH -t 5\necho\n", true},
		{"train.sh", "echo\n", true},
		{"train.SBATCH", "echo\n", true},
		{"x.hcl", "#!/usr/bin/env nai\njob \"x\" {}\n", false},
		{"x", "job \"x\" {\n  task {\n    script = <<EOT\n#SBATCH -t 5\nEOT\n  }\n}\n", false},
		{"-", "\n# leading comments\n\n#SBATCH -t 5\n", true},
	}
	for _, tc := range tests {
		if got := IsScript(tc.name, []byte(tc.src)); got != tc.want {
			t.Errorf("IsScript(%q, %q) = %v, want %v", tc.name, tc.src, got, tc.want)
		}
	}
}

// FuzzParseScript checks that no script makes the reader panic, that every
// failure is a *DiagError that formats, that every job it returns is
// valid, and that the converted job file submits the same jobs. Seeds: the
// corpus and testdata/fuzz/FuzzParseScript.
func FuzzParseScript(f *testing.F) {
	files := corpus(f)
	bad, err := filepath.Glob("testdata/sbatch/invalid/*.sh")
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range append(files, bad...) {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		opts := scriptOptions()
		sr, err := parseScript("fuzz.sh", src, opts)
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
		if len(sr.res.Jobs) == 0 {
			t.Fatal("no error and no jobs")
		}
		for _, j := range sr.res.Jobs {
			if err := j.Validate(); err != nil {
				t.Fatalf("returned job does not validate: %v", err)
			}
		}
		hclSrc := formatScript("fuzz.sh", sr)
		back, err := Parse("fuzz.hcl", hclSrc, Options{Now: testNow})
		if err != nil {
			t.Fatalf("the converted job file does not parse: %v\n%s", err, hclSrc)
		}
		if diff := cmp.Diff(sr.res.Jobs, back.Jobs, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("the converted job file submits other jobs (-script +job file):\n%s\n%s", diff, hclSrc)
		}
	})
}

// Every option nai's table knows is one of sbatch's, so none of them is
// refused as unknown.
func TestSbatchOptionNames(t *testing.T) {
	for _, o := range sbatchOptions {
		if full, _, ok := resolveLong(o.long); !ok || full != o.long {
			t.Errorf("--%s is in nai's table but not among sbatch's long options", o.long)
		}
		if o.short != 0 && !strings.ContainsRune(sbatchShortNames, rune(o.short)) {
			t.Errorf("-%c (--%s) is in nai's table but not among sbatch's short options", o.short, o.long)
		}
	}
	for i := 1; i < len(sbatchLongNames); i++ {
		if sbatchLongNames[i-1] >= sbatchLongNames[i] {
			t.Errorf("sbatchLongNames is not sorted at %q", sbatchLongNames[i])
		}
	}
}
