package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// Following a job that fails and is retried shows the new attempt's log
// from its first byte, not from where the old attempt's log ended.
func TestFollowRetriedJob(t *testing.T) {
	a := startAgent(t, t.TempDir(), 4)
	work := t.TempDir()
	writeFile(t, work, "run.sh", `#!/bin/sh
if [ "$NAI_ATTEMPT" = 1 ]; then
  i=0
  while [ $i -lt 50 ]; do echo "first-attempt-line-$i"; i=$((i+1)); done
  sleep 1 # long enough for the follower to stream this attempt
  exit 1
fi
echo "second-attempt-ok"
`)
	file := writeFile(t, work, "job.hcl", `job "retried" {
  code = "."
  retry {
    attempts = 1
    on       = ["failed"]
  }
  resources {
    cpu    = 0.5
    memory = "64MiB"
  }
  task {
    command = "/bin/sh"
    args    = ["run.sh"]
  }
}
`)
	out, errOut, code := a.nai("job", "run", file)
	if code != 0 {
		t.Fatalf("nai job run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "first-attempt-line-49") {
		t.Fatalf("the first attempt was not followed, so this test proves nothing:\n%s", out)
	}
	if !strings.Contains(out, "second-attempt-ok") {
		t.Fatalf("the second attempt's log is missing from the followed output:\nstdout:\n%s\nstderr:\n%s", out, errOut)
	}

	// Each attempt's log stays readable: -attempt N.
	m := regexp.MustCompile(`Submitted job (\d+)`).FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("no job id in:\n%s", errOut)
	}
	id := m[1]
	for _, tc := range []struct {
		args     []string
		code     int
		want     string
		wantNot  string
		inStderr bool
	}{
		{args: []string{"-attempt", "1"}, want: "first-attempt-line-49", wantNot: "second-attempt-ok"},
		{args: []string{"-attempt", "2"}, want: "second-attempt-ok", wantNot: "first-attempt"},
		{args: []string{"-attempt", "1", "-tail", "1"}, want: "first-attempt-line-49\n", wantNot: "line-48"},
		{args: []string{"-attempt", "3"}, code: 1, want: "job " + id + " has no attempt 3 (its attempts: 1, 2)", inStderr: true},
		{args: []string{"-attempt", "0"}, code: 1, want: "expected an attempt number, 1 or more", inStderr: true},
	} {
		out, errOut, code := a.nai(append(append([]string{"job", "logs"}, tc.args...), id)...)
		got := out
		if tc.inStderr {
			got = errOut
		}
		if code != tc.code || !strings.Contains(got, tc.want) || (tc.wantNot != "" && strings.Contains(got, tc.wantNot)) {
			t.Errorf("nai job logs %v: exit %d (want %d), want %q without %q in\nstdout:\n%s\nstderr:\n%s", tc.args, code, tc.code, tc.want, tc.wantNot, out, errOut)
		}
	}
	if out, _, _ := a.nai("job", "status", id); !strings.Contains(out, "nai job logs -attempt N "+id) {
		t.Errorf("job status does not say how to read an earlier attempt's log:\n%s", out)
	}
}

// TestFollowEarlierAttempt: `nai job logs -f -attempt 1` of a job whose
// second attempt still runs prints the first attempt's log and ends: that
// log is complete, whatever the job does next.
func TestFollowEarlierAttempt(t *testing.T) {
	a := startAgent(t, t.TempDir(), 4)
	work := t.TempDir()
	writeFile(t, work, "run.sh", `#!/bin/sh
if [ "$NAI_ATTEMPT" = 1 ]; then
  echo "first-attempt"
  exit 1
fi
echo "second-started"
sleep 60
`)
	file := writeFile(t, work, "job.hcl", `job "retried-long" {
  code = "."
  retry {
    attempts = 1
    on       = ["failed"]
  }
  resources {
    cpu    = 0.5
    memory = "64MiB"
  }
  task {
    command = "/bin/sh"
    args    = ["run.sh"]
  }
}
`)
	id := strings.TrimSpace(a.mustNai("job", "run", "-detach", file))
	t.Cleanup(func() { a.nai("job", "cancel", id) })
	waitFor(t, 60*time.Second, "the second attempt runs", func() bool {
		out, _, _ := a.nai("job", "logs", id)
		return strings.Contains(out, "second-started")
	})
	type result struct {
		out, errOut string
		code        int
	}
	done := make(chan result, 1)
	go func() {
		out, errOut, code := a.nai("job", "logs", "-f", "-attempt", "1", id)
		done <- result{out, errOut, code}
	}()
	select {
	case r := <-done:
		if r.code != 0 || !strings.Contains(r.out, "first-attempt") || strings.Contains(r.out, "second-started") {
			t.Fatalf("logs -f -attempt 1: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.errOut)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("logs -f -attempt 1 still follows an attempt that has ended")
	}
}

// TestFollowAttemptThatFailsAtOnce: `nai job run` of a job whose first
// attempt prints a line and fails at once shows that line, once, then the
// second attempt's log, and says how the first attempt ended. The follower
// used to open the latest attempt's log only, and lost the first attempt's
// whenever the job had moved on before the stream was attached (2 runs in 3).
func TestFollowAttemptThatFailsAtOnce(t *testing.T) {
	a := startAgent(t, t.TempDir(), 4)
	work := t.TempDir()
	writeFile(t, work, "run.sh", `#!/bin/sh
if [ "$NAI_ATTEMPT" = 1 ]; then
  echo crash
  echo crash-err >&2
  exit 3
fi
echo second-attempt-ok
`)
	file := writeFile(t, work, "job.hcl", `job "crashes" {
  code = "."
  retry {
    attempts = 3
    on       = ["failed"]
  }
  resources {
    cpu    = 0.5
    memory = "64MiB"
  }
  task {
    command = "/bin/sh"
    args    = ["run.sh"]
  }
}
`)
	for run := 1; run <= 3; run++ {
		out, errOut, code := a.nai("job", "run", file)
		if code != 0 {
			t.Fatalf("run %d: nai job run: exit %d\nstdout:\n%s\nstderr:\n%s", run, code, out, errOut)
		}
		if strings.Count(out, "crash\n") != 1 || !strings.Contains(out, "second-attempt-ok\n") || strings.Index(out, "crash\n") > strings.Index(out, "second-attempt-ok") {
			t.Errorf("run %d: want the first attempt's \"crash\" once, then \"second-attempt-ok\":\nstdout:\n%s\nstderr:\n%s", run, out, errOut)
		}
		if strings.Count(errOut, "stderr: crash-err\n") != 1 {
			t.Errorf("run %d: the first attempt's stderr is not shown once:\n%s", run, errOut)
		}
		if !strings.Contains(errOut, ": attempt 1 failed with exit code 3; requeued (attempt 2 of at most 4)") {
			t.Errorf("run %d: no line says how attempt 1 ended:\n%s", run, errOut)
		}
	}
}
