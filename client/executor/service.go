package executor

import (
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A service replica's executor keeps its task running: a task that exits,
// whatever its code, or that the agent asks to restart (it failed its
// health check unhealthy_after times: the restart file and SIGUSR1), is
// started again in the same allocation, cgroup and port, after a backoff
// that doubles from BackoffMin to BackoffMax and goes back to BackoffMin
// after a run of ResetAfter (so a replica that crashes once a day is
// restarted at once). Only a stop request ends it: the executor then waits
// ShutdownDelay (the gateways stop sending it requests first), stops the
// task as it would a batch task, and writes exit.json. Each restart is
// recorded in restarts.json, which the agent reports.

// runService runs the task until a stop request, restarting it.
func (e *executor) runService() error {
	usr1 := make(chan os.Signal, 4)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	svc := e.spec.Service
	rec, err := e.dir.ReadRestarts()
	if err != nil {
		e.logger.Warn("unreadable restart record; counting from 0", "error", err)
	}
	backoff := svc.BackoffMin.D()
	for {
		if r, ok := e.stopRequested(); ok {
			return e.finish(ExitStatus{Reason: r, Message: "stopped", EndTime: time.Now()})
		}
		_ = os.Remove(e.dir.Path(StartErrorFile))
		_ = os.Remove(e.dir.Path(RestartFile))
		err := e.startTask()
		runStart := e.start
		if runStart.IsZero() {
			runStart = time.Now()
		}
		rec.RunStart, rec.NextStart = runStart, time.Time{}
		e.writeRestarts(rec)
		var ended string
		if err != nil {
			ended = "start failed: " + err.Error()
		} else {
			var st *ExitStatus
			ended, st = e.superviseRun(usr1)
			if st != nil {
				return e.finish(*st)
			}
		}
		// Between runs nothing of the task may survive.
		e.killLeftovers()
		if time.Since(runStart) >= svc.ResetAfter.D() {
			backoff = svc.BackoffMin.D()
		}
		rec.Restarts++
		rec.LastExit = ended
		rec.NextStart = time.Now().Add(backoff)
		e.writeRestarts(rec)
		e.logger.Info("service task ended; restarting it", "ended", ended, "in", backoff, "restarts", rec.Restarts)
		if st := e.waitBackoff(backoff, usr1); st != nil {
			return e.finish(*st)
		}
		backoff = min(2*backoff, svc.BackoffMax.D())
	}
}

// superviseRun waits for the running task to end. It returns how it ended
// when it is to be started again, or the final status when a stop ended
// it.
func (e *executor) superviseRun(usr1 <-chan os.Signal) (string, *ExitStatus) {
	exited := make(chan syscall.WaitStatus, 1)
	rusage := new(syscall.Rusage)
	go e.reap(exited, rusage)
	var grace, delay <-chan time.Time
	restartWhy := ""
	stopping := false
	for {
		select {
		case ws := <-exited:
			end := time.Now()
			if stopping {
				if e.reason == "" { // it ended during the shutdown delay
					r, _ := e.stopRequested()
					e.reason, e.message = r, "stopped: "+string(r)
				}
				e.killLeftovers()
				st := e.status(ws, rusage, end)
				return "", &st
			}
			return describeExit(ws, restartWhy), nil
		case <-e.sigs:
			if stopping {
				continue
			}
			// The gateways stop sending requests when the stop is
			// decided; the task serves what is in flight meanwhile.
			stopping = true
			delay = time.After(e.spec.Service.ShutdownDelay.D())
		case <-delay:
			r, _ := e.stopRequested()
			grace = e.terminate(r, "stopped: "+string(r), grace)
			delay = nil
		case <-usr1:
			if stopping || restartWhy != "" {
				continue
			}
			b, err := os.ReadFile(e.dir.Path(RestartFile))
			if err != nil {
				continue // a stray signal: no request
			}
			restartWhy = strings.TrimSpace(string(b))
			if restartWhy == "" {
				restartWhy = "restart requested"
			}
			e.logger.Info("restarting service task", "why", restartWhy)
			e.signalAll(syscall.SIGTERM)
			grace = time.After(e.spec.KillGrace.D())
		case <-grace:
			e.signalAll(syscall.SIGKILL)
			grace = nil
		}
	}
}

// waitBackoff waits before the next start; SIGTERM or SIGINT ends the
// wait and the allocation, as it ends a running task (superviseRun): the
// stop file, when there is one, gives the reason, and a bare signal (an
// operator's kill) cancels.
func (e *executor) waitBackoff(d time.Duration, usr1 <-chan os.Signal) *ExitStatus {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return nil
		case <-usr1: // nothing runs to restart
		case <-e.sigs:
			r, _ := e.stopRequested()
			return &ExitStatus{Reason: r, Message: "stopped while waiting to restart", EndTime: time.Now()}
		}
	}
}

func (e *executor) writeRestarts(rec RestartRecord) {
	if err := WriteJSONAtomic(e.dir.Path(RestartsFile), rec); err != nil {
		e.logger.Warn("record restart", "error", err)
	}
}

// describeExit says how a run ended, in a few words.
func describeExit(ws syscall.WaitStatus, restartWhy string) string {
	what := "exit code " + strconv.Itoa(ws.ExitStatus())
	if ws.Signaled() {
		what = "killed by " + unix.SignalName(ws.Signal())
	}
	if restartWhy != "" {
		return "restarted (" + restartWhy + "): " + what
	}
	return what
}
