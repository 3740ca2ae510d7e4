package client

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// A batch allocation's executor runs the node's next allocations too: the
// tasks of three jobs in a row have the same parent. A cancel reaches the
// task it names over the channel, and the executor then runs the next
// job as if nothing happened. When the agent stops, its idle executor
// ends. With NAI_EXECUTOR_REUSE=0 every job gets an executor of its own.
func TestClientReusesExecutors(t *testing.T) {
	for _, reuse := range []bool{true, false} {
		name := "reuse"
		if !reuse {
			name = "NAI_EXECUTOR_REUSE=0"
			t.Setenv("NAI_EXECUTOR_REUSE", "0")
		}
		t.Run(name, func(t *testing.T) {
			f := newFakeServers(t)
			c := newTestClient(t, f, t.TempDir(), testCgroups(t))
			stop := runClient(t, c)
			ppids := filepath.Join(t.TempDir(), "ppids")
			run := func(id, script string) *structs.Allocation {
				job := scriptJob(id, `echo $PPID >> "$PPIDS"
`+script)
				job.Task.Env = map[string]string{"PPIDS": ppids}
				a := newAlloc(c, job)
				f.put(a)
				return a
			}
			end := func(a *structs.Allocation, want structs.ExitReason) {
				t.Helper()
				waitFor(t, terminalWait, a.ID+" to end", func() bool { return f.terminal(a.ID) })
				if st := f.status(a.ID); st.ExitReason != want {
					t.Fatalf("%s ended %s/%s (%s), want %s", a.ID, st.Status, st.ExitReason, st.Message, want)
				}
			}
			end(run("j1", "true"), structs.ExitExited)

			a2 := run("j2", "sleep 100")
			waitFor(t, 10*time.Second, "the second task", func() bool { return len(readPids(t, ppids)) == 2 })
			f.modify(a2.ID, func(a *structs.Allocation) {
				a.DesiredStatus, a.DesiredReason = structs.DesiredStop, structs.ExitPreempted
			})
			end(a2, structs.ExitPreempted)
			end(run("j3", "exit 0"), structs.ExitExited)

			pids := readPids(t, ppids)
			if len(pids) != 3 {
				t.Fatalf("parents %v, want 3", pids)
			}
			same := pids[0] == pids[1] && pids[1] == pids[2]
			if same != reuse {
				t.Fatalf("the tasks' executors %v: one for all is %v, want %v", pids, same, reuse)
			}
			stop()
			if reuse {
				waitFor(t, 10*time.Second, "the idle executor to end with its agent", func() bool { return gone(pids[0]) })
			}
		})
	}
}

// An executor left idle longer than execPoolIdle is retired while its
// agent runs on.
func TestIdleExecutorRetires(t *testing.T) {
	defer func(d time.Duration) { execPoolIdle = d }(execPoolIdle)
	execPoolIdle = 200 * time.Millisecond
	f := newFakeServers(t)
	c := newTestClient(t, f, t.TempDir(), testCgroups(t))
	runClient(t, c)
	ppids := filepath.Join(t.TempDir(), "ppids")
	job := scriptJob("j1", `echo $PPID >> "$PPIDS"`)
	job.Task.Env = map[string]string{"PPIDS": ppids}
	a := newAlloc(c, job)
	f.put(a)
	waitFor(t, terminalWait, "the job to end", func() bool { return f.terminal(a.ID) })
	pids := readPids(t, ppids)
	if len(pids) != 1 {
		t.Fatalf("parents %v", pids)
	}
	waitFor(t, 10*time.Second, "the idle executor to be retired", func() bool { return gone(pids[0]) })
	c.execs.mu.Lock()
	idle := len(c.execs.idle)
	c.execs.mu.Unlock()
	if idle != 0 {
		t.Fatalf("%d executors still idle in the pool", idle)
	}
}
