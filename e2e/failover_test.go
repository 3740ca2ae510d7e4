package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// naiEnv runs the CLI with env added to the environment.
func naiEnv(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	return runCLI(t, cliRun{env: env}, args...)
}

// NAI_ADDR lists every server; the CLI moves on when the first is down.
// The first server is the leader and is killed: the CLI's submission and
// its reads reach the servers left, which elect a new leader.
func TestCLIMovesOnWhenAServerIsDown(t *testing.T) {
	c := startCluster(t, 3, 0)
	var l *clusterAgent
	waitFor(t, 30*time.Second, "a leader", func() bool { l = c.leader(); return l != nil })
	addrs := []string{l.addr}
	for _, s := range c.others(l) {
		addrs = append(addrs, s.addr)
	}
	env := []string{"NAI_ADDR=" + strings.Join(addrs, ",")}
	job := writeFile(t, t.TempDir(), "wait.hcl", `job "wait" {
  resources {
    cpu = 0.1
  }
  task {
    command = "/bin/true"
  }
}
`)
	if out, errOut, code := naiEnv(t, env, "job", "run", "-detach", job); code != 0 {
		t.Fatalf("job run with every server up: exit %d\n%s%s", code, out, errOut)
	}

	t.Logf("killing %s, the first address of NAI_ADDR", l.name)
	l.kill()
	out, errOut, code := naiEnv(t, env, "job", "run", "-detach", job)
	if code != 0 {
		t.Fatalf("job run with the first server down: exit %d\n%s%s", code, out, errOut)
	}
	second := strings.TrimSpace(out)
	out, errOut, code = naiEnv(t, env, "queue", "-json")
	if code != 0 {
		t.Fatalf("queue with the first server down: exit %d\n%s%s", code, out, errOut)
	}
	var queue []*structs.Job
	if err := json.Unmarshal([]byte(out), &queue); err != nil {
		t.Fatalf("queue -json: %v\n%s", err, out)
	}
	ids := map[string]bool{}
	for _, j := range queue {
		ids[j.ID] = true
	}
	if len(queue) != 2 || !ids[second] {
		t.Errorf("the queue after the failover holds %d jobs (%v), want both submissions, %s among them", len(queue), ids, second)
	}
	if out, errOut, code := naiEnv(t, env, "server", "members"); code != 0 {
		t.Errorf("server members with the first server down: exit %d\n%s%s", code, out, errOut)
	}
}
