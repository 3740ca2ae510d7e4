package client

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/nai-project/nai/client/executor"
)

// Who can see what of the client data dir. Tasks of different users share
// a host, each running as its own account: a task must not read or list
// anything of another allocation or of the agent. So every dir a task
// walks through on its way to its own is "traverse only", and what is a
// task's own is its user's alone:
//
//	DataDir/                       root 0711  node-id, node-secret 0600, executor.log 0600
//	  allocs/                      root 0711
//	    ID/                        root 0711  alloc.json, exit.json, stdout, stderr, ... 0600
//	      work/ output/            task user 0700 (files: the task's umask, 077)
//	      metrics.jsonl            task user 0600
//	      task-script              task user 0700
//	  checkpoints/                 root 0711
//	    JOB/                       task user 0700
//	  replaced/                    root 0700  what an earlier allocation or job of a reused id left (restored.go)
//	  cache/                       root 0711
//	    blobs/                     root 0700  (code archives; digests not listable)
//	    unpacked/                  root 0711  (digests not listable)
//	      DIGEST/                  root 0555, files 0444 (a task given the version reaches it by name)
//
// Allocation ids are easy to guess, so what is in an allocation dir is
// private by its own mode, not by the dir's. The executor starts every
// task with umask 077 (executor.TaskUmask); a job can still chmod its
// own files.
const (
	modeTraverse   = 0o711
	modePrivateDir = 0o700
)

// tightenDataDir makes the layout above, and tightens what an older agent
// left with wider modes (its allocation dirs and logs were world-readable).
// It runs at the agent's start, before any task of this agent runs.
func tightenDataDir(dataDir string, logger *slog.Logger) error {
	for _, d := range []string{dataDir, filepath.Join(dataDir, "allocs"), filepath.Join(dataDir, "checkpoints"),
		filepath.Join(dataDir, "cache"), filepath.Join(dataDir, "cache", "unpacked")} {
		if err := os.MkdirAll(d, modeTraverse); err != nil {
			return fmt.Errorf("client data dir: %w", err)
		}
		if err := chmodIf(d, true, modeTraverse); err != nil {
			return fmt.Errorf("client data dir: %w", err)
		}
	}
	warn := func(err error) {
		if err != nil {
			logger.Warn("cannot tighten the mode of a file of the data dir", "error", err)
		}
	}
	warn(chmodIf(filepath.Join(dataDir, "cache", "blobs"), true, modePrivateDir))
	for _, f := range []string{execLogName, execLogName + ".1"} {
		warn(chmodIf(filepath.Join(dataDir, f), false, 0o600))
	}
	if ents, err := os.ReadDir(filepath.Join(dataDir, "checkpoints")); err == nil {
		for _, e := range ents {
			warn(chmodIf(filepath.Join(dataDir, "checkpoints", e.Name()), true, modePrivateDir))
		}
	}
	ents, err := os.ReadDir(filepath.Join(dataDir, "allocs"))
	if err != nil {
		return fmt.Errorf("client data dir: %w", err)
	}
	for _, e := range ents {
		d := allocDir(filepath.Join(dataDir, "allocs", e.Name()))
		if !e.IsDir() {
			continue
		}
		warn(chmodIf(string(d), true, modeTraverse))
		for _, dir := range []string{"work", "output", "logs"} {
			warn(chmodIf(d.path(dir), true, modePrivateDir))
		}
		for _, f := range []string{"stdout", "stderr", "logs/stdout", "logs/stderr", metricsName, archiveName} {
			warn(chmodIf(d.path(f), false, 0o600))
		}
		// An older agent's task script: root's, 0755. The task user
		// must still be able to run it (a service restarts it).
		if fi, err := os.Lstat(d.path(scriptFile)); err == nil && fi.Mode().IsRegular() {
			var rec allocRecord
			if err := executor.ReadJSON(d.path(allocFile), &rec); err == nil && rec.Executor != nil && rec.Executor.User != nil {
				warn(chownToUser(rec.Executor.User, d.path(scriptFile)))
			}
			warn(chmodIf(d.path(scriptFile), false, modePrivateDir))
		}
	}
	return nil
}

// chmodIf sets the mode of p when it is a dir (dir) or a regular file
// (!dir) with other permission bits; a symlink or anything else there is
// left alone. p is in a dir only root writes, so what Lstat saw is what
// Chmod changes.
func chmodIf(p string, dir bool, mode fs.FileMode) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if dir != fi.IsDir() || (!dir && !fi.Mode().IsRegular()) || fi.Mode().Perm() == mode {
		return nil
	}
	return os.Chmod(p, mode)
}
