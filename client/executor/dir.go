package executor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nai-project/nai/structs"
)

// Names inside an allocation dir that the agent and the executor share. The
// two talk only through these files, so either can restart without the
// other, and an agent of one version can supervise an executor of another:
// never rename them or change what they hold but by adding JSON fields.
const (
	// AllocFile is the allocation, written by the agent before it starts
	// the executor, with the executor's Spec under "executor" (AllocRecord).
	AllocFile = "alloc.json"
	// SpecFile is the Spec alone, as agents before the spec moved into
	// AllocFile wrote it; the executor still reads it when AllocFile has
	// no spec (an older agent starting a newer executor mid-upgrade).
	SpecFile = "executor.json"
	// PidFile is the executor's pid, written only by an executor started
	// by an older agent (legacy ReadSpec); LivePid finds the others by
	// their lock.
	PidFile        = "executor.pid"
	StopFile       = "stop"          // a stop request: the reason, written by the agent
	ExitFile       = "exit.json"     // how the task ended (ExitStatus), written once by the executor
	StartErrorFile = "start-error"   // why the exec shim could not exec the task
	RestartFile    = "restart"       // a service restart request: why, written by the agent
	RestartsFile   = "restarts.json" // a service's restarts so far (RestartRecord), written by the executor
)

// Dir is the on-disk home of one allocation.
type Dir string

// Path is the path of elem inside the allocation dir.
func (d Dir) Path(elem ...string) string {
	return filepath.Join(append([]string{string(d)}, elem...)...)
}

// LogPath is the log file of the task's stream ("stdout" or "stderr") as
// executors of specs without Logs (older agents') keep it: in logs/.
func (d Dir) LogPath(stream string) string { return d.Path("logs", stream) }

// LogsHere is Spec.Logs for log files in the alloc dir itself.
const LogsHere = "."

// logPath is the stream's log file under the spec's Logs.
func (d Dir) logPath(s *Spec, stream string) string {
	if s.Logs == "" {
		return d.LogPath(stream)
	}
	return d.Path(s.Logs, stream)
}

// Spec is everything the executor needs to run the task (executor.json);
// the agent computes it so that the executor stays small and the
// environment comes from the agent's own.
type Spec struct {
	AllocID      string            `json:"alloc_id"`
	Argv         []string          `json:"argv"`
	Dir          string            `json:"dir"`
	Env          []string          `json:"env"`
	TimeLimit    structs.Duration  `json:"time_limit"`
	KillGrace    structs.Duration  `json:"kill_grace"`
	CgroupParent string            `json:"cgroup_parent,omitempty"`
	Cgroup       string            `json:"cgroup,omitempty"` // empty: cgroups disabled
	User         *User             `json:"user,omitempty"`   // nil: the agent's own account
	Labels       map[string]string `json:"labels,omitempty"`
	// Service, for a service replica, is its restart policy (service.go):
	// the task is started again until stopped.
	Service *RestartPolicy `json:"service,omitempty"`
	// Logs is the dir of the log files (stdout, stderr) relative to the
	// alloc dir: "" logs/, which the executor makes (LogPath, older
	// agents); LogsHere the alloc dir itself, one dir fewer per job.
	Logs string `json:"logs,omitempty"`
	// ReadOnly are the dirs of the task's datasets and models: the task
	// sees each of them read-only, in a mount namespace of its own where
	// the executor may make one (readonly.go). Absolute paths.
	ReadOnly []string `json:"read_only,omitempty"`
}

// AllocRecord is what the executor reads of alloc.json: its Spec. The
// agent writes the allocation and the spec as one file, one inode fewer
// per job than a file each (on a busy node every inode the ext4 allocator
// hands out costs 0.3-0.6 ms of kernel CPU).
type AllocRecord struct {
	Executor *Spec `json:"executor,omitempty"`
}

// ReadSpec reads the executor's Spec from alloc.json, or from
// executor.json when alloc.json holds none: then legacy is true, the dir
// was written by an older agent, which finds its executor by executor.pid.
func (d Dir) ReadSpec() (spec *Spec, legacy bool, err error) {
	var rec AllocRecord
	err = ReadJSON(d.Path(AllocFile), &rec)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	if rec.Executor != nil {
		return rec.Executor, false, nil
	}
	var s Spec
	if err := ReadJSON(d.Path(SpecFile), &s); err != nil {
		return nil, true, err
	}
	return &s, true, nil
}

// LockDir takes the executor's lock: a POSIX read lock on the alloc dir
// itself, held until the process ends, however it ends (the kernel drops
// it). LivePid finds the executor by it, so the executor writes no pid
// file (one inode less per job, and a recycled pid cannot pass for it).
// The returned file must stay open for the executor's life, and the
// executor must never open the alloc dir again: closing any descriptor of
// a file drops the process's POSIX locks on it.
func LockDir(d Dir) (*os.File, error) {
	f, err := os.Open(string(d))
	if err != nil {
		return nil, fmt.Errorf("lock alloc dir: %w", err)
	}
	lk := syscall.Flock_t{Type: syscall.F_RDLCK, Whence: io.SeekStart}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock alloc dir %s: %w", d, err)
	}
	return f, nil
}

// LivePid is the pid of the live executor of d, 0 when there is none: the
// holder of its lock (LockDir), or, for an executor of an older release,
// the pid in executor.pid if that process is alive and is d's executor.
func (d Dir) LivePid() int {
	if f, err := os.Open(string(d)); err == nil {
		lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart}
		err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk)
		f.Close() // this process holds no lock on d: nothing is dropped
		if err == nil && lk.Type != syscall.F_UNLCK && lk.Pid > 0 {
			return int(lk.Pid)
		}
	}
	if pid := d.ReadPid(); Alive(pid, d) {
		return pid
	}
	return 0
}

// User is the unix account a task runs as (task.user).
type User struct {
	Name   string   `json:"name"`
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups,omitempty"`
	Home   string   `json:"home,omitempty"`
}

// shimArgs are the exec shim's flags that switch to the user.
func (u *User) shimArgs() []string {
	gs := make([]string, len(u.Groups))
	for i, g := range u.Groups {
		gs[i] = strconv.FormatUint(uint64(g), 10)
	}
	return []string{"-uid", strconv.FormatUint(uint64(u.UID), 10), "-gid", strconv.FormatUint(uint64(u.GID), 10),
		"-groups", strings.Join(gs, ",")}
}

// RestartPolicy is a service replica's restart policy in executor.json.
type RestartPolicy struct {
	BackoffMin    structs.Duration `json:"backoff_min"`
	BackoffMax    structs.Duration `json:"backoff_max"`
	ResetAfter    structs.Duration `json:"reset_after"`
	ShutdownDelay structs.Duration `json:"shutdown_delay,omitempty"`
}

// ExitStatus is the executor's final word on a task (exit.json). The agent
// writes one too when the task never reached an executor, or the executor
// vanished.
type ExitStatus struct {
	ExitCode  *int                   `json:"exit_code"` // nil: the task never ran
	Reason    structs.ExitReason     `json:"reason"`
	Message   string                 `json:"message,omitempty"`
	StartTime time.Time              `json:"start_time,omitzero"`
	EndTime   time.Time              `json:"end_time"`
	Usage     *structs.ResourceUsage `json:"usage,omitempty"`
}

// RestartRecord is restarts.json: a service replica's restarts so far.
type RestartRecord struct {
	Restarts int    `json:"restarts"`
	LastExit string `json:"last_exit,omitempty"`
	// RunStart is when the current run began (the agent's health grace
	// counts from it).
	RunStart time.Time `json:"run_start,omitzero"`
	// NextStart is when a task that ended will start again.
	NextStart time.Time `json:"next_start,omitzero"`
}

// ReadExit returns the exit status, or (nil, nil) when there is none yet.
func (d Dir) ReadExit() (*ExitStatus, error) {
	var st ExitStatus
	err := ReadJSON(d.Path(ExitFile), &st)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// ReadRestarts returns the restart record; none yet is a zero record.
func (d Dir) ReadRestarts() (RestartRecord, error) {
	var rec RestartRecord
	err := ReadJSON(d.Path(RestartsFile), &rec)
	if errors.Is(err, os.ErrNotExist) {
		return rec, nil
	}
	return rec, err
}

// ReadPid returns the pid in executor.pid, or 0 when there is none.
func (d Dir) ReadPid() int {
	b, err := os.ReadFile(d.Path(PidFile))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return pid
}

// WriteFileAtomic writes data to a temp file and renames it into place, so
// a reader never sees half a file. It does not fsync: on the start path an
// fsync costs tens of milliseconds, and a machine crash kills the task with
// the files anyway. Use WriteFileDurable where a crash must not lose it.
func WriteFileAtomic(path string, data []byte) error { return writeFile(path, data, false) }

// WriteFileDurable is WriteFileAtomic with an fsync before the rename.
func WriteFileDurable(path string, data []byte) error { return writeFile(path, data, true) }

func writeFile(path string, data []byte, durable bool) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = tmp.Write(data)
	if err == nil && durable {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// WriteJSONAtomic writes v, indented, with WriteFileAtomic.
func WriteJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	return WriteFileAtomic(path, append(b, '\n'))
}

// ReadJSON decodes the JSON file at path into v. A missing file's error
// matches os.ErrNotExist.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}
