package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/internal/gossipkey"
	"github.com/nai-project/nai/structs"
)

// unprivileged is the unix account the tests' users run as: Debian has
// nobody everywhere.
func unprivileged(t *testing.T) (string, string) {
	t.Helper()
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no unix account nobody on this host: %v", err)
	}
	return u.Username, u.Uid
}

// startACLAgent starts a dev agent with ACLs on and gpus fake GPUs,
// bootstraps its ACLs through the API and waits for its node; it returns
// the agent and a client with the management token.
func startACLAgent(t *testing.T, gpus int) (*agent, *api.Client) {
	t.Helper()
	a := startAgent(t, t.TempDir(), gpus, "-acl-enabled")
	boot, err := a.api().ACLBootstrap(context.Background())
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	mgmt := a.api().WithToken(boot.SecretID)
	waitFor(t, 30*time.Second, "the node registers", func() bool {
		nodes, err := mgmt.Nodes(context.Background())
		return err == nil && len(nodes) == 1
	})
	return a, mgmt
}

// bootstrap makes the management token through the CLI.
func bootstrap(t *testing.T, a *agent) creds {
	t.Helper()
	var tok structs.TokenWithSecret
	out := a.mustNaiAs(creds{}, "acl", "bootstrap", "-json")
	if err := json.Unmarshal([]byte(out), &tok); err != nil || tok.SecretID == "" {
		t.Fatalf("acl bootstrap -json: %q (%v)", out, err)
	}
	return creds{token: tok.SecretID}
}

// mustNaiAs runs the CLI with credentials and fails on a non-zero exit.
func (a *agent) mustNaiAs(cr creds, args ...string) string {
	a.t.Helper()
	out, errOut, code := a.naiAs(cr, args...)
	if code != 0 {
		a.t.Fatalf("nai %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// userToken makes a user (running tasks as account) and a token for it.
func userToken(t *testing.T, a *agent, mgmt creds, name, account string) creds {
	t.Helper()
	a.mustNaiAs(mgmt, "user", "create", "-unix-account", account, name)
	var tok structs.TokenWithSecret
	if err := json.Unmarshal([]byte(a.mustNaiAs(mgmt, "token", "create", "-user", name, "-json")), &tok); err != nil {
		t.Fatal(err)
	}
	return creds{token: tok.SecretID}
}

// TestClusterACL is the identity issue's story on a three-server cluster
// with ACLs on: u2 can neither see, cancel nor read what u1's job made, nor
// pull a model of a group u2 is not in; as a reader it can pull but not
// remove; the exploits of old fail; a job runs as its owner's account.
func TestClusterACL(t *testing.T) {
	account, uid := unprivileged(t)
	ctx := context.Background()
	var servers []*clusterAgent
	join := ""
	// Servers with ACLs need encrypt (or TLS): the gossip key also
	// authenticates raft between them.
	key, err := gossipkey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		flags := []string{"-server", "-bootstrap-expect", "3", "-node-down-grace", clusterGrace, "-acl-enabled", "-encrypt", key}
		if join != "" {
			flags = append(flags, "-join", join)
		}
		s := startClusterAgent(t, fmt.Sprintf("s%d", i+1), t.TempDir(), flags...)
		if join == "" {
			join = s.serf
		}
		servers = append(servers, s)
	}
	s1 := servers[0]
	waitFor(t, 60*time.Second, "a leader is elected", func() bool {
		l, err := s1.apiAs(creds{}).Leader(ctx)
		return err == nil && l != ""
	})
	// Before bootstrap, nothing but public routes answers.
	if _, _, code := s1.naiAs(creds{}, "queue"); code == 0 {
		t.Fatal("nai queue without a token worked on a cluster with ACLs")
	}
	mgmt := bootstrap(t, s1.agent)
	if _, errOut, code := s1.naiAs(creds{}, "acl", "bootstrap"); code == 0 || !strings.Contains(errOut, "already bootstrapped") {
		t.Errorf("a second bootstrap: exit %d, %s", code, errOut)
	}
	for _, s := range servers {
		s.creds = mgmt
	}
	var nodeTok structs.TokenWithSecret
	if err := json.Unmarshal([]byte(s1.mustNaiAs(mgmt, "token", "create", "-policy", "node", "-name", "gpu-hosts", "-json")), &nodeTok); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		c := startClusterAgent(t, fmt.Sprintf("c%d", i+1), t.TempDir(), "-client", "-dev-gpus", "2", "-join", join,
			"-acl-enabled", "-acl-agent-token", nodeTok.SecretID, "-allow-root-tasks=false", "-encrypt", key)
		c.creds = mgmt
	}
	waitFor(t, 60*time.Second, "both clients register with the node token", func() bool {
		nodes, err := s1.api().Nodes(ctx)
		return err == nil && len(nodes) == 2 && nodes[0].Status == structs.NodeReady && nodes[1].Status == structs.NodeReady
	})

	u1 := userToken(t, s1.agent, mgmt, "u1", account)
	u2 := userToken(t, s1.agent, mgmt, "u2", account)
	s1.mustNaiAs(mgmt, "group", "create", "vision")
	s1.mustNaiAs(mgmt, "group", "add-member", "-role", "admin", "vision", "u1")

	work := t.TempDir()
	// The job is written to the nobody account's world: /tmp.
	jobFile := writeFile(t, work, "whoami.hcl", `
job "whoami" {
  group = "vision"
  resources {
    cpu    = 0.1
    memory = "64MiB"
  }
  task {
    script = <<-EOS
      echo "uid=$(id -u)"
      echo '{"step": 1, "loss": 0.5}' >> "$NAI_METRICS_FILE"
      echo weights > "$NAI_OUTPUT_DIR/model.txt"
      echo oops >&2
    EOS
  }
}
`)
	out := s1.mustNaiAs(u1, "job", "run", "-detach", jobFile)
	id := strings.TrimSpace(out)
	j := s1.waitJob(id, 2*time.Minute)
	if j.Status != structs.JobComplete || j.User != "u1" || j.Group != "vision" || j.Task.User != account {
		t.Fatalf("u1's job: status %s (%s), user %s, group %s, task.user %s", j.Status, j.Reason, j.User, j.Group, j.Task.User)
	}
	if logs := s1.mustNaiAs(u1, "job", "logs", id); !strings.Contains(logs, "uid="+uid) {
		t.Errorf("the job ran as %q, want uid %s (its owner's unix account %s)", logs, uid, account)
	}

	t.Run("another user sees nothing of u1's job", func(t *testing.T) {
		// Not even that it exists: u2 is answered as for a job id that
		// nobody uses.
		const absent = "987654"
		for _, args := range []func(id string) []string{
			func(id string) []string { return []string{"job", "status", id} },
			func(id string) []string { return []string{"job", "logs", id} },
			func(id string) []string { return []string{"job", "logs", "-stderr", id} },
			func(id string) []string { return []string{"job", "metrics", id} },
			func(id string) []string { return []string{"job", "outputs", id, "-o", filepath.Join(work, "stolen")} },
			func(id string) []string { return []string{"job", "cancel", id} },
		} {
			_, errOut, code := s1.naiAs(u2, args(id)...)
			_, wantOut, wantCode := s1.naiAs(u2, args(absent)...)
			wantOut = strings.ReplaceAll(wantOut, absent, id)
			if code == 0 || code != wantCode || errOut != wantOut || strings.Contains(errOut, "permission denied") {
				t.Errorf("u2: nai %s: exit %d, %q; want as for a job that does not exist: exit %d, %q", strings.Join(args(id), " "), code, errOut, wantCode, wantOut)
			}
		}
		if q := s1.mustNaiAs(u2, "queue", "-all", "-json"); strings.Contains(q, `"whoami"`) {
			t.Errorf("u2's queue lists u1's job:\n%s", q)
		}
		// Nor by going to the node's agent directly.
		a, err := s1.api().JobAllocations(ctx, id)
		if err != nil || len(a) == 0 {
			t.Fatalf("allocations: %v", err)
		}
		n, err := s1.api().Node(ctx, a[0].NodeID)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			who  creds
			want int
		}{{creds{}, http.StatusUnauthorized}, {u2, http.StatusForbidden}, {u1, http.StatusOK}} {
			req, _ := http.NewRequest("GET", n.HTTPAddr+"/v1/client/allocations/"+a[0].ID+"/logs", nil)
			if tc.who.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.who.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("node %s logs as %q: %d %s, want %d", n.Name, tc.who.token[:min(4, len(tc.who.token))], resp.StatusCode, b, tc.want)
			}
		}
	})

	t.Run("a digest is no key to content", func(t *testing.T) {
		// u1 pushes through every server: through a follower, the
		// upload stays with it and the push goes to the leader, which
		// asks the other servers who uploaded the content.
		var digests []string
		for i, srv := range servers {
			dir := filepath.Join(work, fmt.Sprintf("secret%d", i))
			writeFile(t, dir, "srv.py", fmt.Sprintf("print('u1 secret %d')\n", i))
			name := fmt.Sprintf("secret%d", i)
			srv.mustNaiAs(u1, "dataset", "push", dir, "-name", name, "-group", "vision")
			a, err := srv.apiAs(u1).Artifact(ctx, structs.KindDataset, name)
			if err != nil || len(a.Versions) != 1 {
				t.Fatalf("dataset %s: %v %v", name, a, err)
			}
			digests = append(digests, a.Versions[0].Digest)
		}
		// u2 (not in group vision) can neither claim nor probe them.
		for i, srv := range servers {
			d := digests[(i+1)%len(digests)]
			_, err := srv.apiAs(u2).PushArtifact(ctx, structs.KindDataset, "stolen", &structs.ArtifactPushRequest{Digest: d, Size: 533, Files: 2})
			if err == nil || !strings.Contains(err.Error(), "was not uploaded") {
				t.Errorf("u2 pushed u1's content through %s: %v", srv.name, err)
			}
			if held, err := srv.apiAs(u2).HasBlob(ctx, d); err != nil || held {
				t.Errorf("u2 learnt that u1's content exists through %s: %v %v", srv.name, held, err)
			}
		}
	})

	t.Run("models by group role", func(t *testing.T) {
		dir := filepath.Join(work, "weights")
		writeFile(t, dir, "w.bin", "0123456789")
		s1.mustNaiAs(u1, "model", "push", dir, "-name", "m1", "-group", "vision")
		pulled := filepath.Join(work, "pulled")
		// Not in the group, u2 may not see m1: it is answered as for a
		// model that does not exist.
		_, errOut, code := s1.naiAs(u2, "model", "pull", "m1", "-o", pulled)
		_, wantOut, _ := s1.naiAs(u2, "model", "pull", "m9", "-o", pulled)
		if code == 0 || errOut != strings.ReplaceAll(wantOut, "m9", "m1") || !strings.Contains(errOut, "not found") {
			t.Errorf("u2 pulled a model of a group it is not in: exit %d %s; want as for one that does not exist: %s", code, errOut, wantOut)
		}
		s1.mustNaiAs(u1, "group", "add-member", "-role", "reader", "vision", "u2")
		s1.mustNaiAs(u2, "model", "pull", "m1", "-o", pulled)
		if b, err := os.ReadFile(filepath.Join(pulled, "w.bin")); err != nil || string(b) != "0123456789" {
			t.Errorf("pulled %q, %v", b, err)
		}
		if _, errOut, code := s1.naiAs(u2, "model", "rm", "m1:1"); code == 0 || !strings.Contains(errOut, "permission denied") {
			t.Errorf("a reader removed a version: exit %d %s", code, errOut)
		}
		// As a reader, u2 now sees u1's job of the group too.
		s1.mustNaiAs(u2, "job", "status", id)
	})

	t.Run("the old exploits fail", func(t *testing.T) {
		body := `{"job": {"name": "x", "resources": {"cpu": 0.1, "memory_bytes": 67108864}, "task": {"user": "root", "command": "id"}}}`
		req, _ := http.NewRequest("PUT", "http://"+strings.TrimPrefix(s1.addr, "http://")+"/v1/jobs", strings.NewReader(body))
		req.Header.Set("X-Nai-User", "someone-else")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("a spoofed X-Nai-User: %d, want 401", resp.StatusCode)
		}
		root := writeFile(t, work, "root.hcl", `job "root" {
  resources {
    cpu    = 0.1
    memory = "64MiB"
  }
  task {
    user    = "root"
    command = "id"
  }
}`)
		_, errOut, code := s1.naiAs(u1, "job", "run", "-detach", root)
		if code == 0 || !strings.Contains(errOut, `task.user "root" needs operator rights`) {
			t.Errorf("task.user root: exit %d, %s", code, errOut)
		}
		// A long job of u1: u2 cannot cancel it, u1 can.
		long := writeFile(t, work, "long.hcl", `job "long" {
  resources {
    cpu    = 0.1
    memory = "64MiB"
  }
  task {
    command = "sleep"
    args    = ["300"]
  }
}`)
		lid := strings.TrimSpace(s1.mustNaiAs(u1, "job", "run", "-detach", long))
		if _, errOut, code := s1.naiAs(u2, "job", "cancel", lid); code == 0 || !strings.Contains(errOut, "not found") {
			t.Errorf("u2 cancelled u1's job: exit %d, %s", code, errOut)
		}
		s1.mustNaiAs(u1, "job", "cancel", lid)
		if j := s1.waitJob(lid, time.Minute); j.Status != structs.JobCancelled {
			t.Errorf("u1's cancel: %s", j.Status)
		}
	})

	t.Run("the audit log names who did what", func(t *testing.T) {
		// A write u2 may not do, sent straight to the API (the CLI would
		// stop at the read before it). u2 is a reader of the job's group
		// by now: it sees the job, and is told what right it lacks.
		if err := s1.apiAs(u2).Cancel(ctx, id); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Fatalf("u2's cancel through the API: %v", err)
		}
		waitFor(t, 30*time.Second, "the audit log holds u2's refused cancel", func() bool {
			var evs []structs.AuditEvent
			out := s1.mustNaiAs(mgmt, "operator", "audit", "-user", "u2", "-json")
			if err := json.Unmarshal([]byte(out), &evs); err != nil {
				t.Fatalf("audit -json: %v", err)
			}
			for _, e := range evs {
				if e.Method == "DELETE" && strings.HasPrefix(e.Path, "/v1/jobs/") && e.Status == http.StatusForbidden {
					return true
				}
			}
			return false
		})
		if _, errOut, code := s1.naiAs(u1, "operator", "audit"); code == 0 || !strings.Contains(errOut, "operator:read") {
			t.Errorf("a user read the audit log: exit %d %s", code, errOut)
		}
	})

	t.Run("a user makes tokens for itself, and only such", func(t *testing.T) {
		var tok structs.TokenWithSecret
		if err := json.Unmarshal([]byte(s1.mustNaiAs(u2, "token", "create", "-name", "ci", "-ttl", "1h", "-json")), &tok); err != nil {
			t.Fatal(err)
		}
		if who := s1.mustNaiAs(creds{token: tok.SecretID}, "token", "self"); !strings.Contains(who, "u2") {
			t.Errorf("the token u2 made: %s", who)
		}
		if _, errOut, code := s1.naiAs(u2, "token", "create", "-user", "u1"); code == 0 || !strings.Contains(errOut, "a user makes tokens for itself only") {
			t.Errorf("u2 made a token of u1: exit %d %s", code, errOut)
		}
		if _, errOut, code := s1.naiAs(u2, "token", "create", "-policy", "management"); code == 0 || !strings.Contains(errOut, "given by management tokens only") {
			t.Errorf("u2 made a management token: exit %d %s", code, errOut)
		}
		s1.mustNaiAs(u2, "token", "revoke", tok.AccessorID)
		if _, _, code := s1.naiAs(creds{token: tok.SecretID}, "token", "self"); code == 0 {
			t.Error("the revoked token still works")
		}
	})
}

// TestGroupQuotaWaits: a group at its GPU quota has its next job wait with
// QuotaExceeded, and start when a slot frees.
func TestGroupQuotaWaits(t *testing.T) {
	account, _ := unprivileged(t)
	a := startAgent(t, t.TempDir(), 4, "-acl-enabled")
	mgmt := bootstrap(t, a)
	a.creds = mgmt
	a.waitNode(4)
	u1 := userToken(t, a, mgmt, "u1", account)
	a.mustNaiAs(mgmt, "group", "create", "lab")
	a.mustNaiAs(mgmt, "group", "add-member", "lab", "u1")
	a.mustNaiAs(mgmt, "group", "quota", "-gpus", "2", "lab")
	work := t.TempDir()
	job := func(name string) string {
		return strings.TrimSpace(a.mustNaiAs(u1, "job", "run", "-detach", writeFile(t, work, name+".hcl", fmt.Sprintf(`job %q {
  group = "lab"
  resources {
    cpu    = 0.1
    memory = "64MiB"
    gpu { count = 1 }
  }
  task {
    command = "sleep"
    args    = ["300"]
  }
}`, name))))
	}
	first, second := job("one"), job("two")
	for _, id := range []string{first, second} {
		waitFor(t, 60*time.Second, "job "+id+" runs", func() bool { return a.job(id).Status == structs.JobRunning })
	}
	third := job("three")
	waitFor(t, 30*time.Second, "the third waits for the quota", func() bool {
		j := a.job(third)
		return j.Status == structs.JobPending && strings.HasPrefix(j.Reason, "QuotaExceeded: group lab uses 2 of 2 GPUs")
	})
	a.mustNaiAs(u1, "job", "cancel", first)
	waitFor(t, 60*time.Second, "the third starts when a slot frees", func() bool { return a.job(third).Status == structs.JobRunning })
}
