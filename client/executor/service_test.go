package executor

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// A service's executor ends on SIGTERM whether its task is running or it
// waits to restart it: with the stop file's reason, or cancelled when an
// operator sent the signal without one. (Once, a signal during the
// backoff was ignored without a stop file, and the executor restarted
// the task for ever.)
func TestServiceExecutorStopsOnSignal(t *testing.T) {
	policy := &RestartPolicy{BackoffMin: structs.Duration(time.Minute), BackoffMax: structs.Duration(time.Minute),
		ResetAfter: structs.Duration(time.Hour)}
	for _, tc := range []struct {
		name     string
		argv     []string // the service's task
		waitFor  func(Dir) bool
		stopFile string
		want     structs.ExitReason
	}{
		{"waiting to restart, bare signal", []string{"sh", "-c", "exit 1"}, restarted, "", structs.ExitCancelled},
		{"waiting to restart, stop file", []string{"sh", "-c", "exit 1"}, restarted, "scaled-down", structs.ExitScaledDown},
		{"running, bare signal", []string{"sleep", "100"}, running, "", structs.ExitCancelled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, cmd := startExecutor(t, Spec{AllocID: "s1.1", Argv: tc.argv, Service: policy})
			deadline := time.Now().Add(20 * time.Second)
			for !tc.waitFor(dir) {
				if time.Now().After(deadline) {
					t.Fatal("the service never reached the state to stop it in")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if tc.stopFile != "" {
				if err := os.WriteFile(dir.Path(StopFile), []byte(tc.stopFile+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if st := waitExecutor(t, dir, cmd); st.Reason != tc.want {
				t.Errorf("reason %q (%s), want %q", st.Reason, st.Message, tc.want)
			}
		})
	}
}

// restarted: the task ended once and the executor waits to start it again.
func restarted(dir Dir) bool {
	rec, err := dir.ReadRestarts()
	return err == nil && rec.Restarts >= 1 && !rec.NextStart.IsZero()
}

// running: the task has started.
func running(dir Dir) bool {
	rec, err := dir.ReadRestarts()
	return err == nil && !rec.RunStart.IsZero() && rec.NextStart.IsZero()
}
