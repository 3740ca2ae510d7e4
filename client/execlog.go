package client

import (
	"fmt"
	"os"
	"path/filepath"
)

// execLogMax is the size at which the executors' log is rotated: renamed
// to executor.log.1 (replacing the one before) and started anew. A job
// adds a line or two, so 16 MiB is some 100,000 jobs; executors still
// running keep writing into the renamed file.
const execLogMax = 16 << 20

// withExecutorLog calls start with DataDir/executor.log, opened once for
// appending, which every executor gets as its stdout and stderr; the file
// stays open (no rotation closes it) until start returns. Its lines name the
// allocation (alloc=ID). One file per node, not one per allocation: on the
// start path every new inode costs ext4 0.3-0.6 ms of kernel CPU on a
// busy node, and almost every executor writes one line there. Appends of
// concurrent executors do not tear: each log line is one write to a file
// opened with O_APPEND.
func (c *Client) withExecutorLog(start func(*os.File) error) error {
	c.execLogMu.Lock()
	defer c.execLogMu.Unlock()
	f, err := c.executorLogLocked()
	if err != nil {
		return err
	}
	return start(f)
}

func (c *Client) executorLogLocked() (*os.File, error) {
	path := filepath.Join(c.cfg.DataDir, execLogName)
	if c.execLog != nil {
		fi, err := c.execLog.Stat()
		if err == nil && fi.Size() < execLogMax {
			return c.execLog, nil
		}
		if err == nil {
			if err := os.Rename(path, path+".1"); err != nil {
				c.logger.Warn("cannot rotate the executors' log", "error", err)
			}
		}
		c.execLog.Close()
		c.execLog = nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open executor log: %w", err)
	}
	c.execLog = f
	return f, nil
}

// closeExecutorLog closes the executors' log once no start can use it.
func (c *Client) closeExecutorLog() {
	c.execLogMu.Lock()
	defer c.execLogMu.Unlock()
	if c.execLog != nil {
		c.execLog.Close()
		c.execLog = nil
	}
}
