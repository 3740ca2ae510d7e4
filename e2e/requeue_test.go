package e2e

import (
	"strings"
	"testing"
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
}
