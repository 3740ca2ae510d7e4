package cgroupfs

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// killTimeout bounds Kill: a process that survives SIGKILL this long
	// is stuck in the kernel (D state), and the caller must hear about it.
	killTimeout = 5 * time.Second
	// freezeTimeout bounds one freeze attempt; a cgroup stuck in FREEZING
	// is thawed again and killed without the freeze.
	freezeTimeout = time.Second
)

// killer SIGKILLs every process of one cgroup until it is empty.
type killer struct {
	name   string
	pids   func() ([]int, error)
	freeze func() error // nil when the host has no freezer for this cgroup
	thaw   func() error
	// killFile is cgroup v2's cgroup.kill when the kernel has it: the
	// kernel then kills the whole tree atomically, forks included.
	killFile string
	logger   *slog.Logger
}

func (k killer) run() error {
	deadline := time.Now().Add(killTimeout)
	wait := time.Millisecond
	for {
		pids, err := k.pids()
		if err != nil {
			return fmt.Errorf("kill cgroup %s: %w", k.name, err)
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kill cgroup %s: %d processes still alive %s after SIGKILL: %v", k.name, len(pids), killTimeout, pids)
		}
		if k.killFile != "" {
			if err := os.WriteFile(k.killFile, []byte("1"), 0); err != nil {
				return fmt.Errorf("kill cgroup %s: write %s: %w", k.name, k.killFile, err)
			}
		} else {
			k.killOnce(pids)
		}
		time.Sleep(wait)
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// killOnce freezes the cgroup so no process can fork between reading the
// pid list and signalling it, SIGKILLs everything, and thaws so the
// signals are delivered.
func (k killer) killOnce(pids []int) {
	frozen := false
	if k.freeze != nil {
		if err := k.freeze(); err != nil {
			k.logger.Warn("freeze before kill failed; killing unfrozen", "cgroup", k.name, "error", err)
		} else {
			frozen = true
			// Forks that happened before the freeze completed are caught now.
			if again, err := k.pids(); err == nil {
				pids = again
			}
		}
	}
	for _, pid := range pids {
		if err := unix.Kill(pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
			k.logger.Warn("sigkill failed", "cgroup", k.name, "pid", pid, "error", err)
		}
	}
	if frozen {
		if err := k.thaw(); err != nil {
			k.logger.Warn("thaw after kill failed", "cgroup", k.name, "error", err)
		}
	}
}

// signalGroup sends sig to every process the group's pids lists.
func signalGroup(name string, pids func() ([]int, error), sig int) error {
	ps, err := pids()
	if err != nil {
		return err
	}
	return signalAll(name, ps, sig)
}

// signalAll sends sig to every pid, ignoring ones that already exited.
func signalAll(name string, pids []int, sig int) error {
	var failed []string
	for _, pid := range pids {
		if err := unix.Kill(pid, unix.Signal(sig)); err != nil && !errors.Is(err, unix.ESRCH) {
			failed = append(failed, fmt.Sprintf("%d: %v", pid, err))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("signal %d to cgroup %s: %s", sig, name, strings.Join(failed, "; "))
	}
	return nil
}

// waitState calls set, then polls done until it reports the new state,
// bounded by timeout.
func waitState(what string, timeout time.Duration, set func() error, done func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		if err := set(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		ok, err := done()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not done after %s", what, timeout)
		}
		time.Sleep(time.Millisecond)
	}
}

func sortedUnique(pids []int) []int {
	slices.Sort(pids)
	return slices.Compact(pids)
}
