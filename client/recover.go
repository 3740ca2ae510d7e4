package client

import (
	"context"
	"os"
	"path/filepath"

	"github.com/nai-project/nai/client/executor"
)

// recover takes back what an earlier agent left in the allocs dir:
//
//   - reported: nothing to do;
//   - exit.json but not reported: upload and report it now;
//   - a live executor: re-attach and watch it as if we had started it;
//   - neither: the executor vanished (killed, or the machine rebooted), so
//     the allocation is reported failed with reason node-lost.
//
// A dir without alloc.json never got as far as starting an executor, so it
// is removed and the allocation starts normally if the servers still want it.
func (c *Client) recover(ctx context.Context) {
	ents, err := os.ReadDir(c.allocsDir())
	if err != nil {
		c.logger.Error("cannot scan allocations of an earlier run", "error", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range ents {
		if !e.IsDir() || validAllocID(e.Name()) != nil {
			continue
		}
		dir := allocDir(filepath.Join(c.allocsDir(), e.Name()))
		if exists(dir.path(reportedFile)) {
			continue
		}
		a, err := dir.readAlloc()
		if err != nil {
			if os.IsNotExist(err) && !exists(dir.path(executor.PidFile)) && !exists(dir.path(executor.ExitFile)) {
				c.logger.Warn("removing allocation dir that never started", "dir", dir)
				_ = os.RemoveAll(string(dir))
				continue
			}
			c.logger.Error("unreadable allocation left by an earlier run", "dir", dir, "error", err)
			continue
		}
		if _, ok := c.runners[a.ID]; ok {
			continue
		}
		r := newAllocRunner(c, a)
		c.runners[a.ID] = r
		pid := dir.executorPid()
		attached := false
		switch {
		case exists(dir.path(executor.ExitFile)):
			r.logger.Info("reporting allocation that ended while the agent was away")
			r.markExited()
		case pid > 0: // a live executor (executorPid finds only those)
			r.logger.Info("re-attached to running executor", "pid", pid)
			r.attach(pid)
			attached = true // say running again, in case the servers missed it
		default:
			r.markExited() // watch finds no exit.json and reports it lost
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			defer c.forget(a.ID)
			r.run(ctx, attached)
		}()
	}
}
