package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// benchSlurm is Debian's Slurm on this machine, set up for the side-by-side
// figures by bench/slurm/setup.sh (NAI_BENCH_SLURM=1): its own munged,
// slurmctld and slurmd, every file under dir, torn down (by pid) when the
// benchmark ends.
type benchSlurm struct {
	t   *testing.T
	dir string
	env []string
}

// repoRoot is the repository this test file lives in.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// freePort asks the system for a free TCP port on loopback.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startSlurm sets Slurm up, or fails the benchmark saying why.
func startSlurm(t *testing.T) *benchSlurm {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("NAI_BENCH_SLURM=1 needs root: Slurm's daemons run as root")
	}
	// A dir at the top, as nai's are (topLevelDir): Slurm's freed spool
	// files and nai's new ones are in different block groups.
	dir, err := os.MkdirTemp("/", "nai-bench-slurm-")
	if err != nil {
		if dir, err = os.MkdirTemp("", "nai-bench-slurm-"); err != nil {
			t.Fatal(err)
		}
	}
	root := repoRoot()
	teardown := func() {
		out, err := exec.Command(filepath.Join(root, "bench/slurm/teardown.sh"), dir).CombinedOutput()
		if err != nil {
			t.Logf("slurm teardown: %v\n%s", err, out)
		}
	}
	t.Cleanup(teardown)
	ctld, slurmd := freePort(t), freePort(t)
	cmd := exec.Command(filepath.Join(root, "bench/slurm/setup.sh"), dir, strconv.Itoa(ctld), strconv.Itoa(slurmd))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("bench/slurm/setup.sh: %v\n%s", err, out.String())
	}
	s := &benchSlurm{t: t, dir: dir, env: append(os.Environ(), "SLURM_CONF="+filepath.Join(dir, "slurm.conf"))}
	v, _ := s.run("sinfo", "--version")
	t.Logf("Slurm up in %s: %s", dir, strings.TrimSpace(v))
	return s
}

// command is a Slurm client command with this Slurm's configuration; it
// runs in the Slurm dir so that default output files land there.
func (s *benchSlurm) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = s.env
	cmd.Dir = s.dir
	return cmd
}

// run runs a Slurm command and returns its stdout.
func (s *benchSlurm) run(name string, args ...string) (string, error) {
	cmd := s.command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// must runs a Slurm command and fails the benchmark if it fails.
func (s *benchSlurm) must(name string, args ...string) string {
	s.t.Helper()
	out, err := s.run(name, args...)
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

// sbatch submits a batch job and returns its id (sbatch --parsable).
func (s *benchSlurm) sbatch(args ...string) (string, error) {
	out, err := s.run("sbatch", append([]string{"--parsable", "-Q"}, args...)...)
	if err != nil {
		return "", err
	}
	id, _, _ := strings.Cut(strings.TrimSpace(out), ";")
	return id, nil
}

// queued is the number of jobs (array members expanded) Slurm holds in its
// queue, pending or running.
func (s *benchSlurm) queued() int {
	s.t.Helper()
	out := s.must("squeue", "-h", "-r", "-o", "%i")
	return strings.Count(out, "\n")
}

// waitEmpty waits until Slurm's queue is empty.
func (s *benchSlurm) waitEmpty(timeout time.Duration) {
	s.t.Helper()
	waitFor(s.t, timeout, "Slurm's queue empties", func() bool { return s.queued() == 0 })
}

// daemonsCPU is the CPU time slurmctld and slurmd have used so far.
func (s *benchSlurm) daemonsCPU() time.Duration {
	s.t.Helper()
	return cpuOf(s.t, s.pid("slurmctld")) + cpuOf(s.t, s.pid("slurmd"))
}

// settle waits, up to max, until Slurm's daemons are idle: at most one
// tick of CPU (10 ms) in half a second. After a run they go on working
// for a while (finishing and purging jobs, saving state); nai's figure
// that follows should not share the two cores with that.
func (s *benchSlurm) settle(max time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(max)
	prev := s.daemonsCPU()
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		now := s.daemonsCPU()
		if now-prev <= 10*time.Millisecond {
			return
		}
		prev = now
	}
}

// cancelAll empties the queue (scancel of every job of root) and waits.
func (s *benchSlurm) cancelAll() {
	s.t.Helper()
	s.must("scancel", "-u", "root")
	s.waitEmpty(2 * time.Minute)
}

// pid of one of its daemons: "slurmctld" or "slurmd".
func (s *benchSlurm) pid(daemon string) int {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, daemon+".pid"))
	if err != nil {
		s.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		s.t.Fatalf("%s.pid: %v", daemon, err)
	}
	return pid
}

// rssOf reads a process's resident set size in bytes from /proc.
func rssOf(t *testing.T, pid int) int64 {
	t.Helper()
	return statusBytes(t, pid, "VmRSS:")
}

// anonOf is a process's private memory (RssAnon): its RSS without the
// pages of its binary and libraries, which are clean, shared with every
// other process of the same binary (a client's executors), and dropped by
// the kernel under pressure. A Go binary of nai's size keeps most of its
// 38 MB mapped: RSS alone says more about the binary than about the state.
func anonOf(t *testing.T, pid int) int64 {
	t.Helper()
	return statusBytes(t, pid, "RssAnon:")
}

// memText is "RSS (private P)" of a process.
func memText(rss, anon int64) string {
	return fmt.Sprintf("%s (private %s)", mib(rss), mib(anon))
}

// memRatio is the ratio of RSS and, after it, of private memory.
func memRatio(slurmRSS, slurmAnon, naiRSS, naiAnon int64) string {
	return fmt.Sprintf("%s (private %s)", ratioText(float64(slurmRSS)/float64(naiRSS)), ratioText(float64(slurmAnon)/float64(naiAnon)))
}

func statusBytes(t *testing.T, pid int, key string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == key {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", key, pid)
	return 0
}

// cpuOf is a process's CPU time so far (user and system), from /proc.
func cpuOf(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The fields after the command name, which is in parentheses.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	// USER_HZ is 100 on Linux.
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// timedRun runs a command to completion and returns its wall time and the
// CPU time it used (user and system, its children included).
func timedRun(ctx context.Context, cmd *exec.Cmd) (wall, cpu time.Duration, out []byte, err error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t0 := time.Now()
	err = cmd.Run()
	wall = time.Since(t0)
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	if err != nil {
		err = fmt.Errorf("%s: %v: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return wall, cpu, stdout.Bytes(), err
}
