package client

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/nai-project/nai/client/executor"
)

// uploadFailedFile marks an allocation whose outputs could not be uploaded:
// its output dir stays on the node for the operator (and is only removed
// with the whole dir by the GC); its work dir and archive go (scratch).
const uploadFailedFile = "upload-failed"

// gcEvery bounds how often the allocation GC looks at the allocs dir.
const gcEvery = time.Hour

// Cleaning up after an allocation happens in two steps:
//
//  1. Once the final status is reported and the outputs are safely uploaded
//     (or there were none), the bulky parts go at once: work/ (the unpacked
//     code and whatever the task wrote there), output/ and the packed
//     archive; an empty work/ or output/ stays for the GC. logs/, metrics.jsonl, alloc.json and exit.json stay, so that
//     `nai job logs` keeps working. An upload that failed for a transient
//     reason is retried (with backoff, and again by the next agent if this
//     one stops first) before anything is reported; one the servers refused
//     for good leaves output/ in place and an upload-failed mark.
//     work/ goes all the same, and the archive: output/ is what the job
//     was run for and what was promised to be kept (NAI_OUTPUT_DIR), so
//     what was not uploaded is never deleted before the GC age, and the
//     operator can fetch it by hand. work/ is the task's scratch (its code,
//     whatever it wrote beside its outputs), which a successful end
//     removes at once too, and an archive that failed is half-written or a
//     copy of output/. On a full disk they are what holds the space: kept,
//     they made the node stay full after the job that filled it (disk.go).
//     Checkpoints (DataDir/checkpoints/JOB) are not in the alloc dir and
//     are not touched.
//  2. The GC removes whole allocation dirs reported longer than AllocGCAge
//     ago (default 24h), at start and then hourly. It also finishes step 1
//     for dirs whose agent died between reporting and cleaning.

// cleanAllocDir is step 1 for one reported allocation.
func (c *Client) cleanAllocDir(dir allocDir, uploaded bool, logger *slog.Logger) {
	if !uploaded {
		// The space first: on a full disk the mark needs it.
		removeAll(logger, dir.workDir(), dir.path(archiveName))
		if err := executor.WriteFileAtomic(dir.path(uploadFailedFile), []byte(time.Now().UTC().Format(time.RFC3339)+"\n")); err != nil {
			logger.Error("mark failed upload", "error", err)
		}
		logger.Warn("outputs not uploaded: keeping the allocation's output dir until the allocation GC", "dir", dir.outputDir())
		return
	}
	removeAll(logger, dir.workDir(), dir.outputDir(), dir.path(archiveName))
}

// removeAll removes each path, leaving an empty dir (see emptyDir).
func removeAll(logger *slog.Logger, paths ...string) {
	for _, p := range paths {
		if emptyDir(p) {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			logger.Warn("clean allocation dir", "path", p, "error", err)
		}
	}
}

// emptyDir reports whether p is a dir with nothing in it. Such a dir is
// left for the GC: it takes no space, and on a no-journal ext4 every inode
// freed makes the next thousands of inode allocations of the next minutes
// slower (they skip recently deleted inodes one by one), which a drain of
// short jobs pays on its start path.
func emptyDir(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	return len(names) == 0 && errors.Is(err, io.EOF)
}

// gcLoop runs the GC at start and then every gcEvery (or sooner when the
// age is shorter) until ctx ends.
func (c *Client) gcLoop(ctx context.Context) {
	every := gcEvery
	if age := c.cfg.AllocGCAge; age > 0 && age/4 < every {
		every = max(age/4, time.Second)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		c.gcAllocDirs(time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// gcAllocDirs removes reported allocation dirs older than the GC age and
// finishes the cleanup of younger ones. Dirs of allocations not yet
// reported, or held by a runner, are never touched.
func (c *Client) gcAllocDirs(now time.Time) {
	ents, err := os.ReadDir(c.allocsDir())
	if err != nil {
		c.logger.Warn("allocation gc: cannot list allocations", "error", err)
		return
	}
	for _, e := range ents {
		if !e.IsDir() || validAllocID(e.Name()) != nil {
			continue
		}
		dir := allocDir(filepath.Join(c.allocsDir(), e.Name()))
		fi, err := os.Stat(dir.path(reportedFile))
		if err != nil {
			continue // not reported (yet): still the runner's
		}
		c.mu.Lock()
		_, held := c.runners[e.Name()]
		c.mu.Unlock()
		if held {
			continue
		}
		if c.cfg.AllocGCAge > 0 && now.Sub(fi.ModTime()) > c.cfg.AllocGCAge {
			if err := os.RemoveAll(string(dir)); err != nil {
				c.logger.Warn("allocation gc: cannot remove", "dir", string(dir), "error", err)
				continue
			}
			c.logger.Info("allocation gc: removed", "alloc", e.Name())
			continue
		}
		left := func(p string) bool { return exists(p) && !emptyDir(p) }
		switch {
		case !exists(dir.path(uploadFailedFile)):
			if left(dir.workDir()) || left(dir.outputDir()) {
				c.cleanAllocDir(dir, true, c.logger.With("alloc", e.Name()))
			}
		case left(dir.workDir()) || exists(dir.path(archiveName)):
			// An older agent kept work/ of a failed upload.
			removeAll(c.logger.With("alloc", e.Name()), dir.workDir(), dir.path(archiveName))
		}
	}
}
