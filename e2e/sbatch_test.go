package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// The sbatch scripts of jobspec's corpus, submitted with `nai job run` to a
// dev agent: what each job prints of its SLURM_* environment is what a
// Slurm batch job would see.

// corpusScript copies a script of jobspec/testdata/sbatch into a fresh
// folder (so that only it is uploaded as the job's code) and returns the
// folder.
func corpusScript(t *testing.T, name string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	src, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(file)), "jobspec", "testdata", "sbatch", name))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), src, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// naiIn runs the CLI in dir against addr.
func naiIn(t *testing.T, addr, dir string, args ...string) (string, string, int) {
	t.Helper()
	return runCLI(t, cliRun{env: []string{"NAI_ADDR=" + addr}, dir: dir}, args...)
}

// envLines reads the NAME=value lines a job printed.
func envLines(out string) map[string]string {
	env := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`).MatchString(k) {
			env[k] = v
		}
	}
	return env
}

func checkEnv(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got[k], v)
		}
	}
}

var submittedRE = regexp.MustCompile(`Submitted job (\S+)`)

// runScript submits a corpus script with `nai job run` (following it to
// its end) and returns the job id, the job's stdout and the CLI's stderr.
func runScript(t *testing.T, a *agent, dir, name string) (string, string, string) {
	t.Helper()
	out, errOut, code := naiIn(t, a.addr, dir, "job", "run", name)
	if code != 0 {
		t.Fatalf("nai job run %s: exit %d\nstdout:\n%s\nstderr:\n%s", name, code, out, errOut)
	}
	m := submittedRE.FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("no job id in:\n%s", errOut)
	}
	return m[1], out, errOut
}

func TestSbatchScripts(t *testing.T) {
	a := startAgent(t, t.TempDir(), 4)

	t.Run("hello", func(t *testing.T) {
		dir := corpusScript(t, "hello.sh")
		id, out, _ := runScript(t, a, dir, "hello.sh")
		env := envLines(out)
		checkEnv(t, "hello.sh", env, map[string]string{
			"SLURM_JOB_ID": id, "SLURM_JOB_NAME": "hello", "SLURM_NNODES": "1", "SLURM_NODEID": "0", "SLURM_PROCID": "0",
			"SLURM_NTASKS": "1", "SLURM_JOB_NODELIST": "e2e-node", "SLURM_CPUS_PER_TASK": "1", "SLURM_GPUS_ON_NODE": "0",
			"SLURM_JOB_PARTITION": "default",
		})
		// The job runs in its copy of the script's folder: SLURM_SUBMIT_DIR.
		if dir := env["SLURM_SUBMIT_DIR"]; dir == "" || !strings.Contains(out, "in "+dir+"\n") {
			t.Errorf("SLURM_SUBMIT_DIR %q is not where the job ran:\n%s", dir, out)
		}
		for _, k := range []string{"SLURM_ARRAY_TASK_ID", "PET_NNODES"} {
			if _, ok := env[k]; ok {
				t.Errorf("%s is set for a single-node job outside an array", k)
			}
		}
	})

	// As with sbatch job.sh ARGS, a script's arguments follow it; a job
	// file takes none.
	t.Run("script arguments", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "args.sh", "#!/bin/bash\n#SBATCH -J args\necho \"n=$# one=$1 two=$2\"\n")
		out, errOut, code := naiIn(t, a.addr, dir, "job", "run", "args.sh", "cfg.yaml", "two words", "--lr", "-detach")
		if code != 0 || !strings.Contains(out, "n=4 one=cfg.yaml two=two words\n") {
			t.Errorf("nai job run args.sh cfg.yaml 'two words' --lr -detach: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		// A script without #! runs by bash -c: the same $1...
		writeFile(t, dir, "job.hcl", `job "hcl-args" {
  task {
    script = "echo \"n=$# one=$1\""
    args   = ["x y", "z"]
  }
}
`)
		out, errOut, code = naiIn(t, a.addr, dir, "job", "run", "job.hcl")
		if code != 0 || !strings.Contains(out, "n=2 one=x y\n") {
			t.Errorf("a job file's script with args: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		_, errOut, code = naiIn(t, a.addr, dir, "job", "run", "job.hcl", "extra")
		if code == 0 || !strings.Contains(errOut, "a job file takes none") {
			t.Errorf("a job file with arguments: exit %d, want a usage error:\n%s", code, errOut)
		}
		// nai's own flags may follow the file, before the script's
		// arguments begin.
		out, errOut, code = naiIn(t, a.addr, dir, "job", "run", "args.sh", "-name", "named", "-json", "a")
		if code != 0 || !strings.Contains(out, `"job_ids"`) {
			t.Errorf("nai job run args.sh -name named -json a: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		// The slurm-compat wrapper passes them on too.
		if _, err := exec.LookPath("awk"); err == nil {
			_, file, _, _ := runtime.Caller(0)
			sbatch := filepath.Join(filepath.Dir(filepath.Dir(file)), "contrib", "slurm-compat", "sbatch")
			// Every argument after the script is the script's, even
			// one that is also a nai flag (-json).
			cmd := exec.Command(sbatch, "--wait", "args.sh", "-json", "b c")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "NAI_ADDR="+a.addr, "NAI="+naiBin)
			got, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(got), "n=2 one=-json two=b c\n") {
				t.Errorf("sbatch --wait args.sh -json 'b c': %v\n%s", err, got)
			}
		}
	})

	t.Run("gpus", func(t *testing.T) {
		dir := corpusScript(t, "gpu_gres.sh")
		id, out, _ := runScript(t, a, dir, "gpu_gres.sh")
		env := envLines(out)
		checkEnv(t, "gpu_gres.sh", env, map[string]string{"SLURM_JOB_ID": id, "SLURM_JOB_NAME": "finetune", "SLURM_GPUS_ON_NODE": "2"})
		if cvd := env["CUDA_VISIBLE_DEVICES"]; len(strings.Split(cvd, ",")) != 2 || env["SLURM_JOB_GPUS"] != cvd {
			t.Errorf("CUDA_VISIBLE_DEVICES %q, SLURM_JOB_GPUS %q: want the same two GPUs", cvd, env["SLURM_JOB_GPUS"])
		}
	})

	t.Run("array", func(t *testing.T) {
		dir := corpusScript(t, "array_step.sh")
		_, errOut, code := naiIn(t, a.addr, dir, "job", "run", "array_step.sh")
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, errOut)
		}
		m := regexp.MustCompile(`Submitted array (\S+): 4 jobs`).FindStringSubmatch(errOut)
		if m == nil {
			t.Fatalf("no array of 4 in:\n%s", errOut)
		}
		members := a.arrayMembers(m[1])
		if len(members) != 4 {
			t.Fatalf("%d members", len(members))
		}
		var ids []string
		for _, j := range members {
			out, _, code := a.nai("job", "logs", j.ID)
			if code != 0 {
				t.Fatalf("logs of %s: exit %d", j.ID, code)
			}
			env := envLines(out)
			checkEnv(t, "member "+j.ID, env, map[string]string{
				"SLURM_JOB_ID": j.ID, "SLURM_ARRAY_JOB_ID": m[1], "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_JOB_NAME": "lr-search",
				"SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "12", "SLURM_ARRAY_TASK_STEP": "4",
			})
			ids = append(ids, env["SLURM_ARRAY_TASK_ID"])
			if j.MaxParallel != 2 {
				t.Errorf("member %s: max_parallel %d, want 2 (from %%2)", j.ID, j.MaxParallel)
			}
		}
		if !slices.Equal(ids, []string{"0", "4", "8", "12"}) {
			t.Errorf("SLURM_ARRAY_TASK_ID of the members: %v, want 0 4 8 12", ids)
		}
	})

	t.Run("output files", func(t *testing.T) {
		dir := corpusScript(t, "output_error.sh")
		id, out, errOut := runScript(t, a, dir, "output_error.sh")
		stdout, err := os.ReadFile(filepath.Join(dir, "logs", "logged-"+id+".out"))
		if err != nil {
			t.Fatalf("%v\n%s", err, errOut)
		}
		stderr, err := os.ReadFile(filepath.Join(dir, "logs", "logged-"+id+".err"))
		if err != nil {
			t.Fatal(err)
		}
		if string(stdout) != out || !strings.HasPrefix(out, "to stdout\n") || string(stderr) != "to stderr\n" {
			t.Errorf("stdout file %q (printed %q), stderr file %q", stdout, out, stderr)
		}
		checkEnv(t, "output_error.sh", envLines(string(stdout)), map[string]string{"SLURM_JOB_ID": id, "SLURM_JOB_NAME": "logged"})
		// nai job logs writes them again, here after they were removed.
		os.RemoveAll(filepath.Join(dir, "logs"))
		if _, _, code := naiIn(t, a.addr, dir, "job", "logs", id); code != 0 {
			t.Fatalf("nai job logs: exit %d", code)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "logs", "logged-"+id+".err")); err != nil || string(b) != "to stderr\n" {
			t.Errorf("after nai job logs: %q, %v", b, err)
		}
	})

	t.Run("python script", func(t *testing.T) {
		if _, err := exec.LookPath("python3"); err != nil {
			t.Skip("no python3")
		}
		dir := corpusScript(t, "python_script.sh")
		id, out, _ := runScript(t, a, dir, "python_script.sh")
		if out != "SLURM_JOB_ID="+id+"\n" {
			t.Errorf("the python script printed %q", out)
		}
	})
}

// A two-node script: the script runs once on each node, and each sees its
// rank in SLURM_* and torchrun's PET_* variables.
func TestClusterSbatchGang(t *testing.T) {
	c := startCluster(t, 1, 2)
	side := filepath.Join(t.TempDir(), "ranks")
	dir := t.TempDir()
	script := `#!/bin/bash
#SBATCH --job-name=gang-env
#SBATCH --nodes=2 --ntasks-per-node=2 --gres=gpu:2 --mem=64M --time=5
#SBATCH --export=SIDE=` + side + `
echo "$SLURM_NODEID $SLURM_PROCID $SLURM_NTASKS $SLURM_NNODES $PET_NNODES $PET_NODE_RANK $PET_MASTER_ADDR $PET_MASTER_PORT $PET_NPROC_PER_NODE $WORLD_SIZE $SLURM_JOB_ID" >> "$SIDE"
`
	if err := os.WriteFile(filepath.Join(dir, "gang.sh"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := naiIn(t, c.servers[0].addr, dir, "job", "run", "-detach", "gang.sh")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
	id := strings.TrimSpace(out)
	waitFor(t, 60*time.Second, "the gang job ends", func() bool {
		j, _, err := c.servers[0].api().Job(context.Background(), id)
		return err == nil && j.Status.Terminal()
	})
	if j, _, _ := c.servers[0].api().Job(context.Background(), id); j.Status != structs.JobComplete {
		t.Fatalf("gang job ended %s (%s)", j.Status, j.Reason)
	}
	b, err := os.ReadFile(side)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	slices.Sort(lines)
	port := strconv.Itoa(structs.GangPort(id))
	want := []string{
		"0 0 4 2 2 0 127.0.0.1 " + port + " 2 4 " + id,
		"1 2 4 2 2 1 127.0.0.1 " + port + " 2 4 " + id,
	}
	if !slices.Equal(lines, want) {
		t.Errorf("the nodes saw:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}
