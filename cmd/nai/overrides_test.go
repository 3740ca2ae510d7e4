package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nai-project/nai/jobspec"
	"github.com/nai-project/nai/structs"
)

const overriddenScript = `#!/bin/bash
#SBATCH --job-name=orig
#SBATCH --time=1:00:00
#SBATCH --gres=gpu:2
#SBATCH --cpus-per-task=8
#SBATCH --mem=8G
python3 train.py
`

const dependentScript = "#!/bin/bash\n#SBATCH -d afterok:5,singleton\n#SBATCH --time=10:00\npython3 eval.py\n"

const perGPUScript = "#!/bin/bash\n#SBATCH --gpus=4\n#SBATCH --cpus-per-gpu=8\n#SBATCH --mem-per-gpu=16G\npython3 train.py\n"

// With a job file or batch script, the one-liner flags override what the
// file says, as sbatch's options override #SBATCH lines.
func TestFileOverrides(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		body  string
		args  []string
		check func(t *testing.T, j *structs.Job)
	}{
		{"sbatch script, every flag", "train.sh", overriddenScript,
			[]string{"-time", "5m", "-name", "foo", "-gpus", "1", "-cpu", "3", "-mem", "2GiB", "-queue", "long"},
			func(t *testing.T, j *structs.Job) {
				if j.Name != "foo" || j.TimeLimit.D() != 5*time.Minute || j.Resources.GPU.Count != 1 || j.Resources.CPU != 3 ||
					j.Resources.MemoryBytes != 2<<30 || j.Queue != "long" || !strings.Contains(j.Task.Script, "python3 train.py") {
					t.Errorf("job %+v", j)
				}
			}},
		{"sbatch script, only -time", "train.sh", overriddenScript, []string{"-time", "5m"},
			func(t *testing.T, j *structs.Job) {
				if j.Name != "orig" || j.TimeLimit.D() != 5*time.Minute || j.Resources.GPU.Count != 2 || j.Resources.CPU != 8 || j.Resources.MemoryBytes != 8<<30 {
					t.Errorf("job %+v", j)
				}
			}},
		{"HCL file", "train.hcl", validJob, []string{"-name", "quick", "-gpus", "0", "-time", "10m"},
			func(t *testing.T, j *structs.Job) {
				if j.Name != "quick" || j.Resources.GPU.Count != 0 || j.TimeLimit.D() != 10*time.Minute || j.Task.Command != "python3" {
					t.Errorf("job %+v", j)
				}
			}},
		{"per-GPU CPUs and memory follow -gpus, as in sbatch", "pergpu.sh", perGPUScript, []string{"-gpus", "2"},
			func(t *testing.T, j *structs.Job) {
				if j.Resources.GPU.Count != 2 || j.Resources.CPU != 16 || j.Resources.MemoryBytes != 32<<30 {
					t.Errorf("GPUs %d, CPUs %v, memory %d; want 2, 16 and 32GiB", j.Resources.GPU.Count, j.Resources.CPU, j.Resources.MemoryBytes)
				}
			}},
		{"-cpu and -mem win over per-GPU values", "pergpu.sh", perGPUScript, []string{"-gpus", "2", "-cpu", "3", "-mem", "5GiB"},
			func(t *testing.T, j *structs.Job) {
				if j.Resources.CPU != 3 || j.Resources.MemoryBytes != 5<<30 {
					t.Errorf("CPUs %v, memory %d; want 3 and 5GiB", j.Resources.CPU, j.Resources.MemoryBytes)
				}
			}},
		{"no GPUs left: the defaults", "pergpu.sh", perGPUScript, []string{"-gpus", "0"},
			func(t *testing.T, j *structs.Job) {
				if j.Resources.GPU.Count != 0 || j.Resources.CPU != structs.DefaultCPU || j.Resources.MemoryBytes != structs.DefaultMemory {
					t.Errorf("GPUs %d, CPUs %v, memory %d; want 0 and the defaults", j.Resources.GPU.Count, j.Resources.CPU, j.Resources.MemoryBytes)
				}
			}},
		{"per-CPU memory follows -cpu", "percpu.sh", "#!/bin/bash\n#SBATCH -c 4\n#SBATCH --mem-per-cpu=2G\ntrue\n", []string{"-cpu", "2"},
			func(t *testing.T, j *structs.Job) {
				if j.Resources.CPU != 2 || j.Resources.MemoryBytes != 4<<30 {
					t.Errorf("CPUs %v, memory %d; want 2 and 4GiB", j.Resources.CPU, j.Resources.MemoryBytes)
				}
			}},
		{"-gpus is split over a multi-node job's nodes", "multi.sh", "#!/bin/bash\n#SBATCH --nodes=2\n#SBATCH --gpus-per-node=4\nsrun python3 train.py\n",
			[]string{"-gpus", "4"},
			func(t *testing.T, j *structs.Job) {
				if j.Resources.Nodes != 2 || j.Resources.GPU.Count != 2 {
					t.Errorf("nodes %d, GPUs per node %d; want 2 and 2", j.Resources.Nodes, j.Resources.GPU.Count)
				}
			}},
		{"-dependency replaces the script's #SBATCH -d, singleton too", "eval.sh", dependentScript, []string{"-dependency", "afterany:7:8_2,afternotok:9"},
			func(t *testing.T, j *structs.Job) {
				want := []structs.Dependency{{Type: structs.AfterAny, JobID: "7"}, {Type: structs.AfterAny, JobID: "8_2"}, {Type: structs.AfterNotOK, JobID: "9"}}
				if diff := cmp.Diff(want, j.DependsOn); diff != "" || j.Singleton {
					t.Errorf("dependencies (-want +got):\n%s singleton %v", diff, j.Singleton)
				}
			}},
		{"the script's #SBATCH -d stays without -dependency", "eval.sh", dependentScript, []string{"-time", "5m"},
			func(t *testing.T, j *structs.Job) {
				if diff := cmp.Diff([]structs.Dependency{{Type: structs.AfterOK, JobID: "5"}}, j.DependsOn); diff != "" || !j.Singleton {
					t.Errorf("dependencies (-want +got):\n%s singleton %v", diff, j.Singleton)
				}
			}},
		{"-dependency on an HCL file, singleton alone", "train.hcl", validJob, []string{"-dependency", "singleton"},
			func(t *testing.T, j *structs.Job) {
				if len(j.DependsOn) != 0 || !j.Singleton {
					t.Errorf("dependencies %v, singleton %v; want none and true", j.DependsOn, j.Singleton)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeCluster{t: t}
			f.start()
			file := writeFile(t, tc.file, tc.body)
			code, stdout, stderr := runCLI(t, append(append([]string{"job", "run", "-detach"}, tc.args...), file)...)
			if code != 0 || stdout != "40\n" {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			if len(f.submitted) != 1 {
				t.Fatalf("submitted %d jobs", len(f.submitted))
			}
			tc.check(t, f.submitted[0])
		})
	}
}

// Flags that make no sense with the file are refused, and nothing is sent.
func TestFileOverridesRefused(t *testing.T) {
	multi := "#!/bin/bash\n#SBATCH --nodes=2\n#SBATCH --gpus-per-node=4\nsrun python3 train.py\n"
	tests := []struct {
		name string
		file string
		body string
		args []string
		want string
	}{
		{"uneven GPUs over nodes", "multi.sh", multi, []string{"-gpus", "3"}, "-gpus 3: " + "DIR" + "/multi.sh asks for 2 nodes and nai gives every node the same GPUs; give a multiple of 2"},
		{"negative GPUs", "train.sh", overriddenScript, []string{"-gpus", "-1"}, "-gpus -1: expected 0 or more"},
		{"more GPUs a node than nai allows", "t.hcl", validJob, []string{"-gpus", "5000"}, "-gpus 5000: 5000 GPUs a node; a node has at most 1024"},
		{"bad name", "train.sh", overriddenScript, []string{"-name", "my job"}, `-name "my job": a job name is letters, digits`},
		{"bad time", "train.sh", overriddenScript, []string{"-time", "soon"}, `-time: time limit "soon"`},
		{"more CPUs than nai allows", "t.hcl", validJob, []string{"-cpu", "1e9"}, "t.hcl with -cpu: "},
		{"dependency without a job", "t.hcl", validJob, []string{"-dependency", "afterok"}, `-dependency "afterok" names no job: expected afterok:ID[:ID...], such as afterok:12`},
		{"dependency type misspelt", "t.hcl", validJob, []string{"-dependency", "aftrok:5"}, `-dependency "aftrok:5" is not a dependency: expected afterok:ID, afterany:ID, afternotok:ID or singleton (did you mean "afterok"?)`},
		{"dependency on a job's start", "eval.sh", dependentScript, []string{"-dependency", "after:5"}, `-dependency "after:5": nai cannot start a job when another starts`},
		{"dependency on no job id", "t.hcl", validJob, []string{"-dependency", "afterok:$PREV"}, `-dependency "afterok:$PREV": "$PREV" is not a job id: expected a number such as 12`},
		{"empty dependency", "t.hcl", validJob, []string{"-dependency", ""}, `-dependency "" is not a dependency: expected afterok:ID`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeCluster{t: t}
			f.start()
			file := writeFile(t, tc.file, tc.body)
			want := strings.ReplaceAll(tc.want, "DIR", strings.TrimSuffix(file, "/"+tc.file))
			code, _, stderr := runCLI(t, append(append([]string{"job", "run", "-detach"}, tc.args...), file)...)
			if code == 0 || !strings.Contains(stderr, want) || len(f.submitted) != 0 {
				t.Errorf("exit %d, stderr %q, %d submitted; want an error with %q and nothing sent", code, stderr, len(f.submitted), want)
			}
		})
	}
}

// In a sweep (an #SBATCH --array), every member gets the flags, and the
// members still make one sweep spec.
func TestFileOverridesSweep(t *testing.T) {
	src := "#!/bin/bash\n#SBATCH --array=0-3\n#SBATCH --time=2:00:00\npython3 train.py --seed $SLURM_ARRAY_TASK_ID\n"
	res, err := jobspec.Parse("sweep.sh", []byte(src), jobspec.Options{LookupEnv: os.LookupEnv})
	if err != nil {
		t.Fatal(err)
	}
	deps := []structs.Dependency{{Type: structs.AfterOK, JobID: "12"}}
	o := &overrides{set: []string{"time", "name", "dependency"}, time: structs.Duration(time.Minute), name: "short", deps: deps}
	if err := o.apply(res, "sweep.sh"); err != nil {
		t.Fatal(err)
	}
	if len(res.Jobs) != 4 {
		t.Fatalf("%d members", len(res.Jobs))
	}
	for _, j := range res.Jobs {
		if j.TimeLimit.D() != time.Minute || j.Name != "short" || !cmp.Equal(j.DependsOn, deps) {
			t.Errorf("member %d: time %s, name %q, dependencies %v", j.ArrayIndex, j.TimeLimit.D(), j.Name, j.DependsOn)
		}
	}
	spec, err := structs.NewSweepSpecFields(res.Jobs, res.SweepFields)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Template.TimeLimit.D() != time.Minute || !cmp.Equal(spec.Template.DependsOn, deps) {
		t.Errorf("sweep spec time limit %s, dependencies %v", spec.Template.TimeLimit.D(), spec.Template.DependsOn)
	}
}

// -mem reads sizes as sbatch's --mem does: a bare number is MiB, and the
// one-letter units are binary (2G is 2 GiB); units spelt out mean what
// they say.
func TestParseMemFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"512", 512 << 20},
		{"2G", 2 << 30},
		{"2g", 2 << 30},
		{"1.5G", 3 << 29},
		{"64M", 64 << 20},
		{"1T", 1 << 40},
		{"4096K", 4 << 20},
		{"2GiB", 2 << 30},
		{"2GB", 2_000_000_000},
		{"512MiB", 512 << 20},
	} {
		got, err := parseMemFlag(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseMemFlag(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "G", "2X", "-1G", "1"} {
		if _, err := parseMemFlag(bad); err == nil {
			t.Errorf("parseMemFlag(%q): no error", bad)
		}
	}
}
