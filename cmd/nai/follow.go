package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
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

// followJob prints the job's state changes on errw, its stdout on out
// and its stderr on errw (each line marked) until it ends, and returns
// its exit code as an exitCode (nil for 0).
//
// The two logs are followed as two streams and written in the order their
// bytes arrive. Within one log the order is exact; between them it is as
// fine as the client agent's polling of the files (100ms) and the two
// connections allow, so a stdout line and a stderr line written within
// that window may show in either order. Python jobs run unbuffered
// (PYTHONUNBUFFERED=1) so their prints and tracebacks are not held back.
func (f *follower) followJob(ctx context.Context, id string) error {
	logCtx, cancelLogs := context.WithCancel(ctx)
	defer cancelLogs()
	ended := make(chan struct{})
	logsDone := make(chan error, 2)
	mux := newLogMux(f.out, f.errw)
	// The log streams are opened at once: the servers hold them until the
	// job is placed, so they are attached before its first line is
	// written, which is what keeps stdout and stderr in order.
	logsStarted := true
	go func() { logsDone <- f.streamLogs(logCtx, id, false, mux.stream(0), mux, ended) }()
	go func() { logsDone <- f.streamLogs(logCtx, id, true, mux.stream(1), mux, ended) }()
	var prev *structs.Job
	attemptEnd := endedAttempt(ctx, f.cl, id)
	final, err := f.watch(ctx, id, func(j *structs.Job) {
		for _, line := range describeChange(prev, j, f.now(), attemptEnd) {
			mux.note("==> " + line)
		}
		prev = j
	})
	if err != nil {
		mux.flush()
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
	drain:
		for range 2 {
			select {
			case lerr := <-logsDone:
				if lerr != nil && ctx.Err() == nil {
					mux.note(fmt.Sprintf("Warning: could not read the logs of job %s: %v", id, lerr))
				}
			case <-t.C:
				mux.note(fmt.Sprintf("Warning: gave up waiting for the rest of the logs of job %s", id))
				break drain
			case <-ctx.Done():
				break drain
			}
		}
		t.Stop()
	}
	cancelLogs()
	mux.flush()
	saveLogFiles(ctx, f.cl, final, f.errw)
	fmt.Fprintln(f.errw, "==> "+summaryLine(final, f.now()))
	if n := mux.stderrLines(); n > 0 {
		fmt.Fprintf(f.errw, "==> its stderr had %s (marked %q above): nai job logs -stderr %s\n", plural(n, "line"), strings.TrimSpace(stderrMarker), id)
	}
	if code := jobExitCode(final); code != 0 {
		return exitCode(code)
	}
	return nil
}

// streamLogs copies one of the job's logs (stdout, or stderr) to w. The
// follow stream ends when the job does, or early if the connection drops;
// it is then reopened at the byte it stopped at. Once ended is closed, one
// last plain read picks up anything written at the very end.
//
// When the job moves on to another attempt (it was requeued), the earlier
// attempt's log is first read to its end, and so is that of any attempt
// that came and went unseen (one that failed at once, before the stream
// was attached), so that nothing an attempt printed is lost.
func (f *follower) streamLogs(ctx context.Context, id string, stderr bool, w io.Writer, mux *logMux, ended <-chan struct{}) error {
	var off int64
	var alloc string // the attempt whose log is being copied
	backoff := 250 * time.Millisecond
	for {
		final := isClosed(ended)
		rc, got, err := f.cl.LogStream(ctx, id, api.LogOptions{Stderr: stderr, Follow: !final, Offset: off})
		if err == nil && got != "" && got != alloc {
			rc.Close()
			n, lerr := earlierLogs(ctx, f.cl, id, stderr, alloc, off, got, w)
			if lerr != nil && ctx.Err() == nil {
				mux.note(fmt.Sprintf("Warning: could not read the log of an earlier attempt of job %s: %v", id, lerr))
			}
			if !stderr && (alloc != "" || n > 0) {
				// The job was requeued and runs again: its new log starts
				// at byte 0.
				mux.note(fmt.Sprintf("==> job %s runs again (allocation %s); its log starts over", id, got))
			}
			alloc, off = got, 0
			continue
		}
		if err == nil {
			var n int64
			n, err = io.Copy(w, rc)
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

// earlierLogs copies to w what the job's attempts before allocation next
// logged and w has not had: the rest of allocation cur from byte off, and
// the whole log of every attempt after cur (after none, when cur is "")
// and before next, which came and went unseen. It returns how many
// attempts it read besides cur. A job on several nodes logs its rank 0's.
func earlierLogs(ctx context.Context, cl *api.Client, id string, stderr bool, cur string, off int64, next string, w io.Writer) (int, error) {
	allocs, err := cl.JobAllocations(ctx, id)
	if err != nil {
		return 0, err
	}
	if cur != "" {
		i := slices.IndexFunc(allocs, func(a *structs.Allocation) bool { return a.ID == cur })
		if i < 0 {
			return 0, nil
		}
		allocs = allocs[i:] // oldest first: those before cur were read
	}
	n := 0
	for _, a := range allocs {
		if a.ID == next {
			break
		}
		if a.Rank != 0 {
			continue
		}
		start := int64(0)
		if a.ID == cur {
			start = off
		} else {
			n++
		}
		rc, _, err := cl.LogStream(ctx, id, api.LogOptions{Stderr: stderr, Alloc: a.ID, Offset: start})
		if err != nil {
			return n, fmt.Errorf("attempt %d: %w", a.Attempt, err)
		}
		_, err = io.Copy(w, rc)
		rc.Close()
		if err != nil {
			return n, fmt.Errorf("attempt %d: %w", a.Attempt, err)
		}
	}
	return n, nil
}

// stderrMarker starts every line of a job's stderr that `nai job run`
// shows, so it can be told from stdout on one terminal.
const stderrMarker = "stderr: "

// partialFlush is how long a line without its end waits for the rest
// before it is shown as it is (a progress bar, a prompt).
const partialFlush = 300 * time.Millisecond

// logMux writes a job's two logs and nai's own notes in the order they
// arrive, whole lines at a time, so a stderr line never lands inside a
// stdout line: stdout goes to out as it is, stderr to errw with each line
// marked. A line ends at "\n" or "\r" (progress bars redraw with "\r").
type logMux struct {
	mu      sync.Mutex
	w       [2]io.Writer
	partial [2][]byte
	mid     [2]bool // the last bytes written for the stream ended mid-line
	timer   [2]*time.Timer
	errN    int // stderr lines seen
}

func newLogMux(out, errw io.Writer) *logMux {
	return &logMux{w: [2]io.Writer{out, errw}}
}

// stream is the writer for stdout (0) or stderr (1).
func (m *logMux) stream(i int) io.Writer { return muxStream{m: m, i: i} }

type muxStream struct {
	m *logMux
	i int
}

func (s muxStream) Write(p []byte) (int, error) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	m, i := s.m, s.i
	if i == 1 {
		m.errN += bytes.Count(p, []byte("\n"))
	}
	buf := append(m.partial[i], p...)
	end := bytes.LastIndexAny(buf, "\n\r")
	if end >= 0 {
		m.emit(i, buf[:end+1])
		buf = buf[end+1:]
	}
	m.partial[i] = append([]byte(nil), buf...)
	if len(buf) > 0 && m.timer[i] == nil {
		m.timer[i] = time.AfterFunc(partialFlush, func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.timer[i] = nil
			m.flushStream(i)
		})
	}
	return len(p), nil
}

// emit writes b for stream i, marking each stderr line. Errors writing
// to the terminal are not the job's: they are dropped.
func (m *logMux) emit(i int, b []byte) {
	if len(b) == 0 {
		return
	}
	if i == 0 {
		_, _ = m.w[0].Write(b)
	} else {
		var out bytes.Buffer
		for len(b) > 0 {
			j := bytes.IndexAny(b, "\n\r")
			line := b
			if j >= 0 {
				line = b[:j+1]
			}
			if !m.mid[1] {
				out.WriteString(stderrMarker)
			}
			out.Write(line)
			m.mid[1] = j < 0
			b = b[len(line):]
		}
		_, _ = m.w[1].Write(out.Bytes())
		return
	}
	m.mid[0] = b[len(b)-1] != '\n' && b[len(b)-1] != '\r'
}

func (m *logMux) flushStream(i int) {
	if len(m.partial[i]) > 0 {
		m.emit(i, m.partial[i])
		m.partial[i] = nil
	}
}

// flush writes what is left of unfinished lines, each ended, so what
// follows starts on a line of its own.
func (m *logMux) flush() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range 2 {
		if m.timer[i] != nil {
			m.timer[i].Stop()
			m.timer[i] = nil
		}
		if i == 1 && len(m.partial[1]) > 0 {
			m.errN++
		}
		m.flushStream(i)
		if m.mid[i] {
			_, _ = m.w[i].Write([]byte("\n"))
			m.mid[i] = false
		}
	}
}

// note writes one of nai's own lines on errw, between whole log lines.
func (m *logMux) note(line string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mid[1] {
		_, _ = m.w[1].Write([]byte("\n"))
		m.mid[1] = false
	}
	_, _ = io.WriteString(m.w[1], line+"\n")
}

// stderrLines is how many lines the job wrote to stderr.
func (m *logMux) stderrLines() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.errN
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
	fmt.Fprintf(f.errw, "Submitted array %s: %s (%s to %s)\n", name, plural(len(ids), "job"), ids[0], ids[len(ids)-1])
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
			attemptEnd := endedAttempt(ctx, f.cl, id)
			final, err := f.watch(ctx, id, func(j *structs.Job) {
				mu.Lock()
				defer mu.Unlock()
				for _, line := range describeChange(prev, j, f.now(), attemptEnd) {
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
	summary := fmt.Sprintf("array %s: %s", name, plural(len(ids), "job"))
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
