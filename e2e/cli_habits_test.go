package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// The habits of Slurm and Unix users (issue 12) against a real dev agent:
// following a crashing Python job, one-liners, selection, cancel by user,
// array member ids, inspect -hcl run again, and the slurm-compat wrappers.

// naiCombined runs the CLI in dir with stdout and stderr into one buffer,
// as a terminal shows them.
func naiCombined(t *testing.T, addr, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	return naiCombinedCmd(t, addr, dir, env, naiBin, args...)
}

// inOrder fails unless each of want appears in s after the one before.
func inOrder(t *testing.T, s string, want ...string) {
	t.Helper()
	at := 0
	for _, w := range want {
		i := strings.Index(s[at:], w)
		if i < 0 {
			t.Errorf("output lacks %q after byte %d:\n%s", w, at, s)
			return
		}
		at += i + len(w)
	}
}

func python3(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
}

func TestCLIHabits(t *testing.T) {
	python3(t)
	a := startAgent(t, t.TempDir(), 2)
	me, _ := os_user()

	t.Run("failing python job shows its traceback in order", func(t *testing.T) {
		dir := t.TempDir()
		// Pauses longer than the agent's log polling (100ms) keep the
		// lines of the two logs apart in time, so their order is known.
		writeFile(t, dir, "src/train.py", `import sys, time
print("epoch 1 loss 0.9")
time.sleep(0.6)
print("warning: lr is high", file=sys.stderr)
time.sleep(0.6)
print("epoch 2 loss 0.7")
time.sleep(0.6)
loss = 1 / 0
`)
		file := writeFile(t, dir, "tb.hcl", `job "tb" {
  code = "./src"
  task {
    command = "python3"
    args    = ["train.py"]
  }
}
`)
		out, code := naiCombined(t, a.addr, dir, nil, "job", "run", file)
		if code != 1 {
			t.Fatalf("exit %d, want the job's 1:\n%s", code, out)
		}
		id := submittedRE.FindStringSubmatch(out)[1]
		inOrder(t, out,
			"Submitted job "+id,
			"==> job "+id+" running on node e2e-node",
			"epoch 1 loss 0.9\n",
			"stderr: warning: lr is high\n",
			"epoch 2 loss 0.7\n",
			"stderr: Traceback (most recent call last):\n",
			"stderr: ZeroDivisionError: division by zero\n",
			"==> job "+id+" failed: exit code 1",
			"==> its stderr had ",
			"nai job logs -stderr "+id+"\n")
		// Stdout alone stays clean for pipes.
		stdout, _, _ := naiIn(t, a.addr, dir, "job", "logs", id)
		if stdout != "epoch 1 loss 0.9\nepoch 2 loss 0.7\n" {
			t.Errorf("stdout log = %q", stdout)
		}
		tail, _, _ := naiIn(t, a.addr, dir, "job", "logs", "-stderr", "-tail", "1", id)
		if tail != "ZeroDivisionError: division by zero\n" {
			t.Errorf("logs -stderr -tail 1 = %q", tail)
		}
	})

	t.Run("one-liner", func(t *testing.T) {
		dir := t.TempDir()
		out, errOut, code := naiIn(t, a.addr, dir, "job", "run", "--", "python3", "-c", "print(1+1)")
		if code != 0 || out != "2\n" {
			t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, out, errOut)
		}
		writeFile(t, dir, "hello.py", "import os\nprint('hello from', os.environ['NAI_JOB_NAME'])\n")
		out, errOut, code = naiIn(t, a.addr, dir, "job", "run", "-code", ".", "-cpu", "0.5", "-mem", "256MiB", "-time", "5m", "--", "python3", "hello.py")
		if code != 0 || out != "hello from hello\n" || !strings.Contains(errOut, "Uploaded code ") {
			t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, out, errOut)
		}
		// The same folder again is not sent again.
		_, errOut, _ = naiIn(t, a.addr, dir, "job", "run", "-code", ".", "--", "python3", "hello.py")
		if !strings.Contains(errOut, "is already on the server as sha256:") || !strings.Contains(errOut, "nothing sent") {
			t.Errorf("second upload says:\n%s", errOut)
		}
	})

	t.Run("selection and cancel by user", func(t *testing.T) {
		dir := t.TempDir()
		var ids []string
		for _, name := range []string{"nap-a", "nap-b", "other"} {
			out, errOut, code := naiIn(t, a.addr, dir, "job", "run", "-detach", "-name", name, "-cpu", "0.1", "--", "sleep", "300")
			if code != 0 {
				t.Fatalf("submit %s: exit %d: %s", name, code, errOut)
			}
			ids = append(ids, strings.TrimSpace(out))
		}
		out, errOut, code := naiIn(t, a.addr, dir, "queue", "-u", me, "-name", "nap-*", "-format", "{{.ID}} {{.Name}}")
		if code != 0 || out != ids[0]+" nap-a\n"+ids[1]+" nap-b\n" {
			t.Errorf("queue -u %s -name nap-*: exit %d, %q, %s", me, code, out, errOut)
		}
		_, errOut, code = naiIn(t, a.addr, dir, "queue", "-u", "nobody-here")
		if code != 1 || !strings.Contains(errOut, `user "nobody-here" is unknown`) {
			t.Errorf("queue -u of an unknown user: exit %d, %q", code, errOut)
		}
		// A mix of valid and unknown ids: the valid one is cancelled, the
		// unknown listed, exit 1.
		out, errOut, code = naiIn(t, a.addr, dir, "job", "cancel", ids[2], "99999")
		if code != 1 || !strings.Contains(out, "Cancel requested for job "+ids[2]) || !strings.Contains(errOut, "job 99999 not found") {
			t.Errorf("cancel of a valid and an unknown id: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		out, errOut, code = naiIn(t, a.addr, dir, "job", "stop", "-me", "-name", "nap-*", "-json")
		var rep struct {
			Cancelled []struct {
				JobID string `json:"job_id"`
			} `json:"cancelled"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Cancelled) != 2 {
			t.Errorf("stop -me -name nap-*: exit %d, %q, %s", code, out, errOut)
		}
		for _, id := range ids {
			if j := a.waitJob(id, 30*time.Second); j.Status != structs.JobCancelled {
				t.Errorf("job %s is %s, want cancelled", id, j.Status)
			}
		}
	})

	t.Run("array member ids", func(t *testing.T) {
		dir := t.TempDir()
		file := writeFile(t, dir, "sweep.hcl", `job "lr" {
  sweep {
    values = {
      lr = [0.5, 0.1, 0.2]
    }
  }
  resources {
    cpu    = 0.1
    memory = "64MiB"
  }
  task {
    script = <<EOT
echo "lr=${sweep.lr}"
echo "{\"loss\": ${sweep.lr}}" >> "$NAI_METRICS_FILE"
EOT
  }
}
`)
		out, errOut, code := naiIn(t, a.addr, dir, "job", "run", file)
		if code != 0 {
			t.Fatalf("sweep: exit %d:\n%s%s", code, out, errOut)
		}
		members, err := a.api().ArrayJobs(context.Background(), regexpArray(t, errOut))
		if err != nil || len(members) != 3 {
			t.Fatalf("members: %v, %d", err, len(members))
		}
		arr := members[0].ArrayID
		if got, _, code := naiIn(t, a.addr, dir, "job", "logs", arr+"_1"); code != 0 || got != "lr=0.1\n" {
			t.Errorf("logs %s_1 = %q (exit %d)", arr, got, code)
		}
		if got, _, code := naiIn(t, a.addr, dir, "job", "metrics", "-json", arr+"_2"); code != 0 || !strings.Contains(got, `"loss": 0.2`) {
			t.Errorf("metrics %s_2 = %q (exit %d)", arr, got, code)
		}
		got, errOut, code := naiIn(t, a.addr, dir, "job", "metrics", "-sort", "loss", arr)
		lines := strings.Split(strings.TrimSpace(got), "\n")
		if code != 0 || len(lines) != 4 || !strings.HasPrefix(lines[1], arr+"_1 ") || !strings.HasPrefix(lines[3], arr+"_0 ") {
			t.Errorf("metrics -sort loss %s: exit %d:\n%s%s", arr, code, got, errOut)
		}
		if _, errOut, code := naiIn(t, a.addr, dir, "job", "logs", arr+"_7"); code != 1 || !strings.Contains(errOut, "has no member 7") {
			t.Errorf("logs of a missing member: exit %d, %q", code, errOut)
		}
	})

	t.Run("inspect -hcl runs again with its code", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "src/run.py", "print(open('data.txt').read().strip())\n")
		writeFile(t, dir, "src/data.txt", "from the uploaded code\n")
		file := writeFile(t, dir, "job.hcl", `job "again" {
  code = "./src"
  resources {
    cpu    = 0.2
    memory = "128MiB"
  }
  task {
    command = "python3"
    args    = ["run.py"]
  }
}
`)
		out, errOut, code := naiIn(t, a.addr, dir, "job", "run", file)
		if code != 0 || out != "from the uploaded code\n" {
			t.Fatalf("first run: exit %d, %q\n%s", code, out, errOut)
		}
		id := submittedRE.FindStringSubmatch(errOut)[1]
		hcl, _, code := naiIn(t, a.addr, dir, "job", "inspect", "-hcl", id)
		if code != 0 {
			t.Fatalf("inspect -hcl: exit %d", code)
		}
		// Elsewhere, without the code folder: the file names the code by
		// digest.
		other := t.TempDir()
		writeFile(t, other, "again.hcl", hcl)
		out, errOut, code = naiIn(t, a.addr, other, "job", "run", "again.hcl")
		if code != 0 || out != "from the uploaded code\n" || strings.Contains(errOut, "Uploaded") {
			t.Errorf("run of the inspected file: exit %d, stdout %q\n%s\nfile:\n%s", code, out, errOut, hcl)
		}
	})

	t.Run("slurm-compat wrappers", func(t *testing.T) {
		if _, err := exec.LookPath("awk"); err != nil {
			t.Skip("awk is not installed")
		}
		_, file, _, _ := runtime.Caller(0)
		compat := filepath.Join(filepath.Dir(filepath.Dir(file)), "contrib", "slurm-compat")
		dir := t.TempDir()
		writeFile(t, dir, "job.sh", "#!/bin/bash\n#SBATCH --time=5\necho \"name=$SLURM_JOB_NAME\"\nsleep 300\n")
		env := []string{"PATH=" + filepath.Dir(naiBin) + ":" + os.Getenv("PATH")}
		sh := func(script string, args ...string) (string, int) {
			return naiCombinedCmd(t, a.addr, dir, env, filepath.Join(compat, script), args...)
		}
		// --parsable prints the id alone on stdout.
		cmd := exec.Command(filepath.Join(compat, "sbatch"), "--parsable", "-J", "compat", "-c", "1", "--mem=64M", "job.sh")
		cmd.Dir, cmd.Env = dir, append(append(os.Environ(), "NAI_ADDR="+a.addr), env...)
		stdout, err := cmd.Output()
		id := strings.TrimSpace(string(stdout))
		if err != nil || id == "" || strings.ContainsAny(id, " \n") {
			t.Fatalf("sbatch --parsable: %v, stdout %q", err, stdout)
		}
		j := a.job(id)
		if j.Name != "compat" || j.TimeLimit.D() != 5*time.Minute || j.Resources.MemoryBytes != 64<<20 {
			t.Errorf("sbatch job: name %q, time %s, memory %d", j.Name, j.TimeLimit, j.Resources.MemoryBytes)
		}
		out, code := sh("squeue", "-u", me, "-h", "-o", "%i %j")
		if code != 0 || !strings.Contains(out, id+" compat") {
			t.Errorf("squeue -u %s: exit %d, %q", me, code, out)
		}
		out, code = sh("sinfo", "-h")
		if code != 0 || !strings.Contains(out, "e2e-node") {
			t.Errorf("sinfo: exit %d, %q", code, out)
		}
		out, code = sh("scancel", "-n", "compat")
		if code != 0 || !strings.Contains(out, "Cancel requested for job "+id) {
			t.Errorf("scancel -n compat: exit %d, %q", code, out)
		}
		if j := a.waitJob(id, 30*time.Second); j.Status != structs.JobCancelled {
			t.Errorf("job %s is %s after scancel", id, j.Status)
		}
		// sbatch -H submits the job held; scontrol release lets it go.
		cmd = exec.Command(filepath.Join(compat, "sbatch"), "--parsable", "-H", "-J", "held", "-c", "1", "--mem=64M", "job.sh")
		cmd.Dir, cmd.Env = dir, append(append(os.Environ(), "NAI_ADDR="+a.addr), env...)
		stdout, err = cmd.Output()
		held := strings.TrimSpace(string(stdout))
		if err != nil || held == "" {
			t.Fatalf("sbatch -H: %v, stdout %q", err, stdout)
		}
		if j := a.job(held); j.Hold == nil || j.Status != structs.JobPending {
			t.Errorf("sbatch -H: job %s is %s, hold %+v", held, j.Status, j.Hold)
		}
		out, code = sh("scontrol", "show", "job", held)
		if code != 0 || !strings.Contains(out, "JobHeldUser") {
			t.Errorf("scontrol show job %s: exit %d, %q", held, code, out)
		}
		out, code = sh("scontrol", "update", "JobId="+held, "TimeLimit=10", "JobName=renamed", "Gres=gpu:0")
		if code != 0 || !strings.Contains(out, "Job "+held+" updated: name \"renamed\", time limit 10m, GPUs 0.") {
			t.Errorf("scontrol update %s: exit %d, %q", held, code, out)
		}
		if j := a.job(held); j.Name != "renamed" || j.TimeLimit.D() != 10*time.Minute {
			t.Errorf("after scontrol update: name %q, time %s", j.Name, j.TimeLimit)
		}
		if out, code = sh("scontrol", "update", "JobId="+held, "Nice=5"); code == 0 || !strings.Contains(out, "Nice is not supported") {
			t.Errorf("scontrol update Nice=5: exit %d, %q", code, out)
		}
		// Held already: an error, as releasing a job not held is.
		out, code = sh("scontrol", "hold", held)
		if code != 1 || !strings.Contains(out, "job "+held+" already held") {
			t.Errorf("scontrol hold %s of a held job: exit %d, %q; want 1 and the job named", held, code, out)
		}
		out, code = sh("scontrol", "release", held)
		if code != 0 || !strings.Contains(out, "Job "+held+" released.") {
			t.Errorf("scontrol release %s: exit %d, %q", held, code, out)
		}
		if j := a.job(held); j.Hold != nil {
			t.Errorf("job %s still held after scontrol release: %+v", held, j.Hold)
		}
		if out, code = sh("scancel", held); code != 0 {
			t.Errorf("scancel %s: exit %d, %q", held, code, out)
		}
		out, code = sh("sbatch", "--wrap", "echo wrapped")
		if code != 0 || !strings.Contains(out, "Submitted batch job ") {
			t.Errorf("sbatch --wrap: exit %d, %q", code, out)
		}
	})
}

// naiCombinedCmd runs another program (a wrapper) with both outputs in one
// buffer.
func naiCombinedCmd(t *testing.T, addr, dir string, env []string, prog string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "NAI_ADDR="+addr), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s %v: %v", prog, args, err)
	}
	return out.String(), 0
}

// regexpArray reads the array id from "Submitted array 12: ...".
func regexpArray(t *testing.T, s string) string {
	t.Helper()
	_, rest, ok := strings.Cut(s, "Submitted array ")
	if !ok {
		t.Fatalf("no array id in:\n%s", s)
	}
	id, _, _ := strings.Cut(rest, ":")
	return id
}
