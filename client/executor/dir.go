package executor

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nai-project/nai/structs"
)

// Names inside an allocation dir that the agent and the executor share. The
// two talk only through these files, so either can restart without the
// other, and an agent of one version can supervise an executor of another:
// never rename them or change what they hold but by adding JSON fields.
const (
	SpecFile       = "executor.json" // what to run (Spec), written by the agent
	PidFile        = "executor.pid"  // the executor's pid, written by the executor
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

// LogPath is the log file of the task's stream ("stdout" or "stderr").
func (d Dir) LogPath(stream string) string { return d.Path("logs", stream) }

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
