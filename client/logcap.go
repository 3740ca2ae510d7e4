package client

import (
	"bytes"
	"fmt"
	"os"
	"syscall"
	"time"
)

// DefaultLogMaxBytes caps each log file of an allocation (its stdout and
// its stderr) when Config.LogMaxBytes is 0.
const DefaultLogMaxBytes int64 = 10 << 30

// logCapEvery is how often a running allocation's logs are measured: a
// job may write past the cap by what it writes in that time.
const logCapEvery = time.Second

// logCapMarker is the line that ends a log cut at its cap.
func logCapMarker(limit int64) []byte {
	return fmt.Appendf(nil, "\nnai: this log reached the node's limit of %d bytes (client log_max); further output was dropped\n", limit)
}

// capLogs keeps the allocation's stdout and stderr at most
// Config.LogMaxBytes long, plus one marker line. The task writes its logs
// itself, through descriptors opened with O_APPEND, so they cannot be
// stopped at the cap: whatever a log holds past the cap and the marker is
// cut off here, each logCapEvery while the task runs and once when it
// ends. The logs are the executor's (root 0600) in the allocation dir,
// which only root writes: the paths are what they seem.
func (r *allocRunner) capLogs() {
	limit := r.c.cfg.LogMaxBytes
	if limit <= 0 {
		return
	}
	marker := logCapMarker(limit)
	for _, t := range []string{"stdout", "stderr"} {
		p := r.dir.logPath(t)
		fi, err := os.Lstat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() <= limit {
			continue
		}
		if err := capLog(p, limit, marker); err != nil {
			r.logger.Warn("cannot cap the task's log", "log", t, "error", err)
			continue
		}
		if !r.logCapped[t] {
			if r.logCapped == nil {
				r.logCapped = map[string]bool{}
			}
			r.logCapped[t] = true
			r.logger.Warn("task log reached the log size cap; further output dropped", "log", t, "limit", limit)
		}
	}
}

// capLog cuts the file at p to limit bytes and the marker: the marker is
// written once, at limit, and what follows it is cut off.
func capLog(p string, limit int64, marker []byte) error {
	f, err := os.OpenFile(p, os.O_RDWR|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	have := make([]byte, len(marker))
	n, _ := f.ReadAt(have, limit)
	if n == len(marker) && bytes.Equal(have, marker) {
		return f.Truncate(limit + int64(len(marker)))
	}
	if err := f.Truncate(limit); err != nil {
		return err
	}
	if _, err := f.WriteAt(marker, limit); err != nil {
		return err
	}
	// A write of the task's between the two may have landed past the
	// marker: cut it as well.
	return f.Truncate(limit + int64(len(marker)))
}
