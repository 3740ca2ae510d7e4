package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nai-project/nai/client/executor"
	"github.com/nai-project/nai/structs"
)

// Names inside an allocation dir that are the agent's alone; those the
// executor reads or writes too are package executor's (executor.SpecFile,
// executor.ExitFile, ...).
const (
	allocFile = executor.AllocFile // the allocation with its job and the executor's spec
	// reportedFile marks that the servers have the final status: a hard
	// link to exit.json (markReported).
	reportedFile = "reported"
	metricsName  = "metrics.jsonl" // NAI_METRICS_FILE
	// execLogName, in the data dir, is the executors' own stderr, one file
	// for the node (Client.executorLog).
	execLogName = "executor.log"
	archiveName = "output.tar.gz" // the packed output dir, kept until reported
	scriptFile  = "task-script"   // a task script with a #! line, run as a file
)

// allocDir is the on-disk home of one allocation: an executor.Dir with the
// agent's own files besides.
//
// Each inode a job creates costs 0.3-0.6 ms of kernel CPU on a busy node
// with a no-journal ext4 (the allocator skips recently deleted inodes one
// by one), so a job makes few. A /bin/true job created 13 (the dir, work/,
// output/, logs/, checkpoints/JOB, alloc.json, executor.json,
// executor.log, executor.pid, logs/stdout, logs/stderr, exit.json,
// reported) and deleted 2 (an empty work/ and output/) at its report; it
// now creates 8 (the dir, work/, output/, checkpoints/JOB, alloc.json with
// the spec, stdout, stderr, exit.json; reported is a link, executor.log
// one file per node, the pid a lock) and deletes none. e2e Drain1000 on
// the shared 2-core VM under load 10-16 from other work, interleaved
// runs, wall / CPU of the agent and its executors: before 10.81 / 10.73,
// 10.78 / 12.98, 12.04 / 14.86 s; after 10.66 / 10.41, 7.55 / 11.80,
// 11.88 / 13.17 s (the executors' share 7.1-8.6 -> 6.9-8.2 s).
type allocDir string

func (d allocDir) path(elem ...string) string { return executor.Dir(d).Path(elem...) }
func (d allocDir) workDir() string            { return d.path("work") }
func (d allocDir) outputDir() string          { return d.path("output") }

// logPath is the task's log file of stream t: in the alloc dir itself
// (executor.LogsHere), or in logs/ where an older agent made that dir
// before it started the executor.
func (d allocDir) logPath(t string) string {
	if exists(d.path("logs")) {
		return executor.Dir(d).LogPath(t)
	}
	return d.path(t)
}
func (d allocDir) metricsPath() string { return d.path(metricsName) }

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

// executorPid is the pid of the dir's live executor, 0 if none.
func (d allocDir) executorPid() int { return executor.Dir(d).LivePid() }

// executorAlive reports whether pid is the live executor of this dir.
func (d allocDir) executorAlive(pid int) bool { return pid > 0 && d.executorPid() == pid }

func (d allocDir) readAlloc() (*structs.Allocation, error) {
	var a structs.Allocation
	if err := executor.ReadJSON(d.path(allocFile), &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// allocRecord is alloc.json: the allocation, and the executor's Spec under
// "executor" (executor.AllocRecord), nil when the task never got that far.
type allocRecord struct {
	*structs.Allocation
	Executor *executor.Spec `json:"executor,omitempty"`
}

// writeAllocFile writes alloc.json.
//
// Compact, not indented like the dir's other files: it is the biggest
// (the whole job), written once per allocation on the start path, and
// read by programs (jq shows it indented).
func writeAllocFile(d allocDir, a *structs.Allocation, spec *executor.Spec) error {
	b, err := json.Marshal(allocRecord{Allocation: a, Executor: spec})
	if err != nil {
		return fmt.Errorf("encode %s: %w", allocFile, err)
	}
	return executor.WriteFileAtomic(d.path(allocFile), append(b, '\n'))
}

// markReported marks the allocation reported. The mark is a hard link to
// exit.json, which always exists by then: a new name, not a new inode (on
// a busy node each new inode costs ext4 0.3-0.6 ms of kernel CPU). Its
// mtime, which the GC ages from, is set to now (exit.json shares it). An
// allocation without exit.json gets a file of its own.
func (d allocDir) markReported(now time.Time) error {
	mark := d.path(reportedFile)
	err := os.Link(d.path(executor.ExitFile), mark)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrExist):
		return nil // marked before
	default:
		return executor.WriteFileAtomic(mark, []byte(now.UTC().Format(time.RFC3339)+"\n"))
	}
	if err := os.Chtimes(mark, now, now); err != nil {
		return fmt.Errorf("mark %s reported: %w", filepath.Base(string(d)), err)
	}
	return nil
}

// mkdir makes dir with mode, and its parents (modeTraverse) only when
// they are missing: os.MkdirAll stats every dir first, a syscall more per
// dir on the start path. An existing dir is fine.
func mkdir(dir string, mode fs.FileMode) error {
	err := os.Mkdir(dir, mode)
	switch {
	case err == nil || errors.Is(err, fs.ErrExist):
		return nil
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(dir), modeTraverse); err != nil {
			return err
		}
		if err := os.Mkdir(dir, mode); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		return nil
	default:
		return err
	}
}
