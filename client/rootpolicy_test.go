package client

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nai-project/nai/structs"
)

func TestTaskUserFor(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the root policy applies to a root agent")
	}
	if _, err := lookupTaskUser("nobody"); err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	tests := []struct {
		name      string
		policy    string
		taskUser  string
		submitter string
		wantUser  string // "" = run as the agent, no switch
		wantErr   string
	}{
		{name: "allowed: root agent, no user", policy: RootTasksAllow},
		{name: "default is refuse", policy: "", wantErr: "does not allow root tasks"},
		{name: "allowed: submitter root", policy: RootTasksAllow, submitter: "root"},
		{name: "submitter mapped to their account", policy: RootTasksRefuse, submitter: "nobody", wantUser: "nobody"},
		{name: "task.user wins over the submitter", policy: RootTasksRefuse, taskUser: "nobody", submitter: "root", wantUser: "nobody"},
		{name: "unknown submitter runs as the agent", policy: RootTasksAllow, submitter: "no-such-user-nai"},
		{name: "refused: no user at all", policy: RootTasksRefuse, wantErr: "refusing to run the task as root (it would run as the agent's own account"},
		{name: "refused: unknown submitter", policy: RootTasksRefuse, submitter: "no-such-user-nai", wantErr: `the submitter "no-such-user-nai" has no unprivileged account`},
		{name: "refused: submitter root", policy: RootTasksRefuse, submitter: "root", wantErr: "refusing to run the task as root"},
		{name: "refused: task.user root", policy: RootTasksRefuse, taskUser: "root", wantErr: `task.user "root"`},
		{name: "unknown task.user", policy: RootTasksAllow, taskUser: "no-such-user-nai", wantErr: "does not exist on this node"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &Client{cfg: Config{RootTasks: tc.policy}}
			job := &structs.Job{User: tc.submitter, Task: structs.Task{User: tc.taskUser, Command: "true"}}
			u, err := c.taskUserFor(job)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if u != nil {
				got = u.Name
			}
			if got != tc.wantUser {
				t.Errorf("runs as %q, want %q", got, tc.wantUser)
			}
		})
	}
}

// A refused root task ends start-failed with the reason, and never runs.
func TestClientRefusesRootTask(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the root policy applies to a root agent")
	}
	f := newFakeServers(t)
	data := t.TempDir()
	c, err := New(Config{DataDir: data, NodeName: "gpu-test", Servers: f.api(t), Host: testHost(),
		ExecutorBinary: selfExe(t), Logger: testLogger(t), RootTasks: RootTasksRefuse})
	if err != nil {
		t.Fatal(err)
	}
	runClient(t, c)
	job := scriptJob("root", `touch "$NAI_CHECKPOINT_DIR/ran"`)
	a := newAlloc(c, job)
	f.put(a)
	waitFor(t, terminalWait, "the refused allocation ends", func() bool { return f.terminal(a.ID) })
	if st := f.status(a.ID); st.Status != structs.AllocFailed || st.ExitReason != structs.ExitStartFail || !strings.Contains(st.Message, "does not allow root tasks") {
		t.Errorf("final status %s/%s %q, want failed/start-failed saying root is not allowed", st.Status, st.ExitReason, st.Message)
	}
	if exists(filepath.Join(data, "checkpoints", "root", "ran")) {
		t.Error("the refused task ran")
	}
	if _, err := New(Config{DataDir: t.TempDir(), Servers: f.api(t), Host: testHost(), ExecutorBinary: selfExe(t), RootTasks: "sometimes"}); err == nil || !strings.Contains(err.Error(), `root tasks "sometimes" is unknown`) {
		t.Errorf("New with a bad root policy: %v", err)
	}
}
