package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nai-project/nai/structs"
)

// Names inside an allocation dir. The executor and the agent talk only
// through these files, so either can restart without the other.
const (
	allocFile    = "alloc.json"    // the allocation with its job, written by the agent
	specFile     = "executor.json" // what to run, written by the agent
	pidFile      = "executor.pid"  // the executor's pid, written by the executor
	stopFile     = "stop"          // a stop request: the reason, written by the agent
	exitFile     = "exit.json"     // how the task ended, written once by the executor
	reportedFile = "reported"      // the servers have the final status
	startErrFile = "start-error"   // why the shim could not exec the task
	metricsName  = "metrics.jsonl" // NAI_METRICS_FILE
	execLogName  = "executor.log"  // the executor's own stderr
	archiveName  = "output.tar.gz" // the packed output dir, kept until reported
	scriptFile   = "task-script"   // a task script with a #! line, run as a file
)

// allocDir is the on-disk home of one allocation.
type allocDir string

func (d allocDir) path(elem ...string) string {
	return filepath.Join(append([]string{string(d)}, elem...)...)
}
func (d allocDir) workDir() string   { return d.path("work") }
func (d allocDir) outputDir() string { return d.path("output") }
func (d allocDir) logPath(t string) string {
	return d.path("logs", t)
}
func (d allocDir) metricsPath() string { return d.path(metricsName) }

// validAllocID refuses ids that could escape the allocs dir.
func validAllocID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\\\x00") || len(id) > 200 {
		return fmt.Errorf("invalid allocation id %q: expected a non-empty name without slashes", id)
	}
	return nil
}

// execSpec is everything the executor needs to run the task; the agent
// computes it so that the executor stays small and the environment comes
// from the agent's own.
type execSpec struct {
	AllocID      string            `json:"alloc_id"`
	Argv         []string          `json:"argv"`
	Dir          string            `json:"dir"`
	Env          []string          `json:"env"`
	TimeLimit    structs.Duration  `json:"time_limit"`
	KillGrace    structs.Duration  `json:"kill_grace"`
	CgroupParent string            `json:"cgroup_parent,omitempty"`
	Cgroup       string            `json:"cgroup,omitempty"` // empty: cgroups disabled
	User         *taskUser         `json:"user,omitempty"`   // nil: the agent's own account
	Labels       map[string]string `json:"labels,omitempty"`
	// Service, for a service replica, is its restart policy
	// (service_exec.go): the task is started again until stopped.
	Service *serviceExec `json:"service,omitempty"`
}

// exitStatus is the executor's final word on a task (exit.json).
type exitStatus struct {
	ExitCode  *int                   `json:"exit_code"` // nil: the task never ran
	Reason    structs.ExitReason     `json:"reason"`
	Message   string                 `json:"message,omitempty"`
	StartTime time.Time              `json:"start_time,omitzero"`
	EndTime   time.Time              `json:"end_time"`
	Usage     *structs.ResourceUsage `json:"usage,omitempty"`
}

// writeFileAtomic writes data to a temp file and renames it into place, so
// a reader never sees half a file. It does not fsync: on the start path an
// fsync costs tens of milliseconds, and a machine crash kills the task with
// the files anyway. Use writeFileDurable where a crash must not lose it.
func writeFileAtomic(path string, data []byte) error { return writeFile(path, data, false) }

// writeFileDurable is writeFileAtomic with an fsync before the rename.
func writeFileDurable(path string, data []byte) error { return writeFile(path, data, true) }

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

func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	return writeFileAtomic(path, append(b, '\n'))
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// readExit returns the exit status, or (nil, nil) when there is none yet.
func (d allocDir) readExit() (*exitStatus, error) {
	var st exitStatus
	err := readJSON(d.path(exitFile), &st)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &st, nil
}

func (d allocDir) readAlloc() (*structs.Allocation, error) {
	var a structs.Allocation
	if err := readJSON(d.path(allocFile), &a); err != nil {
		return nil, err
	}
	return &a, nil
}
