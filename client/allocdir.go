package client

import (
	"fmt"
	"os"
	"strings"

	"github.com/nai-project/nai/client/executor"
	"github.com/nai-project/nai/structs"
)

// Names inside an allocation dir that are the agent's alone; those the
// executor reads or writes too are package executor's (executor.SpecFile,
// executor.ExitFile, ...).
const (
	allocFile    = "alloc.json"    // the allocation with its job, written by the agent
	reportedFile = "reported"      // the servers have the final status
	metricsName  = "metrics.jsonl" // NAI_METRICS_FILE
	execLogName  = "executor.log"  // the executor's own stderr
	archiveName  = "output.tar.gz" // the packed output dir, kept until reported
	scriptFile   = "task-script"   // a task script with a #! line, run as a file
)

// allocDir is the on-disk home of one allocation: an executor.Dir with the
// agent's own files besides.
type allocDir string

func (d allocDir) path(elem ...string) string { return executor.Dir(d).Path(elem...) }
func (d allocDir) workDir() string            { return d.path("work") }
func (d allocDir) outputDir() string          { return d.path("output") }
func (d allocDir) logPath(t string) string    { return executor.Dir(d).LogPath(t) }
func (d allocDir) metricsPath() string        { return d.path(metricsName) }

// validAllocID refuses ids that could escape the allocs dir.
func validAllocID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\\\x00") || len(id) > 200 {
		return fmt.Errorf("invalid allocation id %q: expected a non-empty name without slashes", id)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// readExit returns the exit status, or (nil, nil) when there is none yet.
func (d allocDir) readExit() (*executor.ExitStatus, error) { return executor.Dir(d).ReadExit() }

// executorPid is the pid in the executor's pid file, 0 if none.
func (d allocDir) executorPid() int { return executor.Dir(d).ReadPid() }

// executorAlive reports whether pid is a live executor of this dir.
func (d allocDir) executorAlive(pid int) bool { return executor.Alive(pid, executor.Dir(d)) }

func (d allocDir) readAlloc() (*structs.Allocation, error) {
	var a structs.Allocation
	if err := executor.ReadJSON(d.path(allocFile), &a); err != nil {
		return nil, err
	}
	return &a, nil
}
