package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

const (
	// maxFollowers bounds the blocking queries one `nai job run` of a
	// sweep keeps open at once.
	maxFollowers = 16
	// logDrainTimeout bounds the wait for the rest of the logs once the
	// job has ended.
	logDrainTimeout = 30 * time.Second
	maxWatchErrors  = 5
)

// follower watches submitted jobs through blocking queries, the way srun
// stays attached to a job.
type follower struct {
	cl   *api.Client
	out  io.Writer // the job's own stdout
	errw io.Writer // everything nai says
	wait time.Duration
	now  func() time.Time
}

// watch reads the job, then waits for each change with blocking queries,
// calling onJob for every version seen, until the job ends. It returns the
// last version seen.
func (f *follower) watch(ctx context.Context, id string, onJob func(*structs.Job)) (*structs.Job, error) {
	j, idx, err := f.cl.Job(ctx, id)
	if err != nil {
		return nil, err
	}
	fails := 0
	for {
		onJob(j)
		if j.Status.Terminal() {
			return j, nil
		}
		asked := time.Now()
		nj, nidx, err := f.cl.WaitJob(ctx, id, idx, f.wait)
		if err != nil {
			fails++
			if ctx.Err() != nil || api.IsNotFound(err) || fails > maxWatchErrors {
				return j, err
			}
			// The agent may be restarting: try again shortly.
			if err := sleepCtx(ctx, time.Duration(fails)*time.Second); err != nil {
				return j, err
			}
			continue
		}
		fails = 0
		// An answer with no progress that came at once means the server
		// does not block; do not spin on it.
		if nidx <= idx && time.Since(asked) < 100*time.Millisecond {
			if err := sleepCtx(ctx, time.Second); err != nil {
				return j, err
			}
		}
		idx, j = nidx, nj
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// followJob prints the job's state changes on errw and its stdout on out
// until it ends, and returns its exit code as an exitCode (nil for 0).
func (f *follower) followJob(ctx context.Context, id string) error {
	logCtx, cancelLogs := context.WithCancel(ctx)
	defer cancelLogs()
	ended := make(chan struct{})
	logsDone := make(chan error, 1)
	logsStarted := false
	var prev *structs.Job
	final, err := f.watch(ctx, id, func(j *structs.Job) {
		for _, line := range describeChange(prev, j, f.now()) {
			fmt.Fprintln(f.errw, "==> "+line)
		}
		prev = j
		ran := j.Status == structs.JobRunning || (j.Status.Terminal() && (j.AllocID != "" || !j.StartTime.IsZero()))
		if ran && !logsStarted {
			logsStarted = true
			go func() { logsDone <- f.streamLogs(logCtx, id, ended) }()
		}
	})
	if err != nil {
		if ctx.Err() != nil {
			if final == nil {
				final = &structs.Job{ID: id, Status: structs.JobRunning}
			}
			printFollowHint(f.errw, final)
			return exitCode(interruptedCode)
		}
		return fmt.Errorf("follow job %s: %w", id, err)
	}
	close(ended)
	if logsStarted {
		t := time.NewTimer(logDrainTimeout)
		select {
		case lerr := <-logsDone:
			if lerr != nil && ctx.Err() == nil {
				fmt.Fprintf(f.errw, "Warning: could not read the logs of job %s: %v\n", id, lerr)
			}
		case <-t.C:
			fmt.Fprintf(f.errw, "Warning: gave up waiting for the rest of the logs of job %s\n", id)
		case <-ctx.Done():
		}
		t.Stop()
	}
	saveLogFiles(ctx, f.cl, final, f.errw)
	fmt.Fprintln(f.errw, "==> "+summaryLine(final, f.now()))
	if code := jobExitCode(final); code != 0 {
		return exitCode(code)
	}
	return nil
}

// streamLogs copies the job's stdout to out. The follow stream ends when
// the job does, or early if the connection drops; it is then reopened at
// the byte it stopped at. Once ended is closed, one last plain read picks
// up anything written at the very end.
func (f *follower) streamLogs(ctx context.Context, id string, ended <-chan struct{}) error {
	var off int64
	var alloc string // the attempt whose log is being copied
	backoff := 250 * time.Millisecond
	for {
		final := isClosed(ended)
		rc, got, err := f.cl.LogStream(ctx, id, api.LogOptions{Follow: !final, Offset: off})
		if err == nil && got != "" && alloc != "" && got != alloc {
			// The job was requeued and runs again: its new log starts at
			// byte 0.
			rc.Close()
			fmt.Fprintf(f.errw, "==> job %s runs again (allocation %s); its log starts over\n", id, got)
			alloc, off = got, 0
			continue
		}
		if got != "" {
			alloc = got
		}
		if err == nil {
			var n int64
			n, err = io.Copy(f.out, rc)
			rc.Close()
			off += n
			if n > 0 {
				backoff = 250 * time.Millisecond
			}
		}
		if final || ctx.Err() != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ended:
		case <-ctx.Done():
		case <-t.C:
			backoff = min(2*backoff, 2*time.Second)
		}
		t.Stop()
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// followArray follows every member of a sweep, printing state changes but
// not logs (they would interleave), and exits 0 only if all complete.
func (f *follower) followArray(ctx context.Context, arrayID string, ids []string) error {
	name := arrayID
	if name == "" {
		name = ids[0]
	}
	fmt.Fprintf(f.errw, "Submitted array %s: %d jobs (%s to %s)\n", name, len(ids), ids[0], ids[len(ids)-1])
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		results = make([]*structs.Job, len(ids))
		errs    = make([]error, len(ids))
		sem     = make(chan struct{}, maxFollowers)
	)
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			var prev *structs.Job
			final, err := f.watch(ctx, id, func(j *structs.Job) {
				mu.Lock()
				defer mu.Unlock()
				for _, line := range describeChange(prev, j, f.now()) {
					fmt.Fprintln(f.errw, "==> "+line)
				}
				if j.Status.Terminal() {
					fmt.Fprintln(f.errw, "==> "+summaryLine(j, f.now()))
				}
				prev = j
			})
			results[i], errs[i] = final, err
			if err == nil {
				saveLogFiles(ctx, f.cl, final, &lockedWriter{mu: &mu, w: f.errw})
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		fmt.Fprintf(f.errw, "\n==> Stopped following array %s; its jobs keep running.\n    nai queue    nai job status ID    nai job cancel %s\n", name, name)
		return exitCode(interruptedCode)
	}
	counts := map[structs.JobStatus]int{}
	for i, j := range results {
		if errs[i] != nil {
			return fmt.Errorf("follow job %s: %w", ids[i], errs[i])
		}
		counts[j.Status]++
	}
	summary := fmt.Sprintf("array %s: %d jobs", name, len(ids))
	for _, s := range []structs.JobStatus{structs.JobComplete, structs.JobFailed, structs.JobCancelled, structs.JobLost} {
		if counts[s] > 0 {
			summary += fmt.Sprintf(", %d %s", counts[s], s)
		}
	}
	fmt.Fprintln(f.errw, "==> "+summary)
	if counts[structs.JobComplete] != len(ids) {
		return exitCode(1)
	}
	return nil
}
