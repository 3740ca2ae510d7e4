package client

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

// updater sends allocation reports to the servers. Reports that arrive
// while a request is in flight are sent together in the next one, so a
// busy node makes few requests and an idle one adds no delay; a newer
// report of an allocation replaces an older one not yet sent.
type updater struct {
	servers *api.Client
	nodeID  string
	logger  *slog.Logger

	// refused, if set, is told of each report the servers refused for
	// good, with their answer (the client stops an allocation they do not
	// know).
	refused func(allocID string, err error)

	mu      sync.Mutex
	pending map[string]*pendingUpdate
	order   []string
	wake    chan struct{}
	// logged are the allocations whose refusal was logged at error level:
	// a running task reports every second, and one refusal says it all.
	logged map[string]bool
}

type pendingUpdate struct {
	upd     *structs.AllocUpdate
	waiters []chan error
}

func newUpdater(servers *api.Client, nodeID string, logger *slog.Logger) *updater {
	return &updater{servers: servers, nodeID: nodeID, logger: logger,
		pending: map[string]*pendingUpdate{}, wake: make(chan struct{}, 1), logged: map[string]bool{}}
}

// post queues a report without waiting for it.
func (u *updater) post(upd *structs.AllocUpdate) { u.enqueue(upd, nil) }

// send queues a report and waits until the servers have it, or until a
// permanent refusal or ctx ends.
func (u *updater) send(ctx context.Context, upd *structs.AllocUpdate) error {
	done := make(chan error, 1)
	u.enqueue(upd, done)
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (u *updater) enqueue(upd *structs.AllocUpdate, done chan error) {
	u.mu.Lock()
	p, ok := u.pending[upd.AllocID]
	if !ok {
		p = &pendingUpdate{}
		u.pending[upd.AllocID] = p
		u.order = append(u.order, upd.AllocID)
	}
	p.upd = upd
	if done != nil {
		p.waiters = append(p.waiters, done)
	}
	u.mu.Unlock()
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

func (u *updater) take() []*pendingUpdate {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]*pendingUpdate, 0, len(u.order))
	for _, id := range u.order {
		out = append(out, u.pending[id])
	}
	u.pending = map[string]*pendingUpdate{}
	u.order = nil
	return out
}

// putBack returns unsent reports to the queue unless a newer one came.
func (u *updater) putBack(batch []*pendingUpdate) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, p := range batch {
		if q, ok := u.pending[p.upd.AllocID]; ok {
			q.waiters = append(q.waiters, p.waiters...)
			continue
		}
		u.pending[p.upd.AllocID] = p
		u.order = append(u.order, p.upd.AllocID)
	}
}

// run sends queued reports until ctx ends.
func (u *updater) run(ctx context.Context) {
	backoff := newBackoff(50*time.Millisecond, 5*time.Second)
	for {
		select {
		case <-ctx.Done():
			return
		case <-u.wake:
		}
		batch := u.take()
		if len(batch) == 0 {
			continue
		}
		retry, err := u.deliver(ctx, batch)
		if len(retry) == 0 {
			backoff.reset()
			continue
		}
		u.logger.Warn("cannot report allocation status, will retry", "error", err)
		u.putBack(retry)
		if !backoff.wait(ctx) {
			return
		}
		select {
		case u.wake <- struct{}{}:
		default:
		}
	}
}

// deliver sends a batch and returns the reports to send again. On a
// permanent refusal it retries each report alone, so one bad report cannot
// sink the others.
func (u *updater) deliver(ctx context.Context, batch []*pendingUpdate) ([]*pendingUpdate, error) {
	ups := make([]*structs.AllocUpdate, len(batch))
	for i, p := range batch {
		ups[i] = p.upd
	}
	err := u.servers.UpdateAllocs(ctx, u.nodeID, ups)
	switch {
	case err == nil:
		u.accepted(batch)
		notify(batch, nil)
		return nil, nil
	case !permanent(err):
		return batch, err
	case len(batch) == 1:
		u.refusedFor(batch[0], err)
		return nil, nil
	}
	var retry []*pendingUpdate
	var last error
	for _, p := range batch {
		e := u.servers.UpdateAllocs(ctx, u.nodeID, []*structs.AllocUpdate{p.upd})
		switch {
		case e == nil:
			u.accepted([]*pendingUpdate{p})
			notify([]*pendingUpdate{p}, nil)
		case permanent(e):
			u.refusedFor(p, e)
		default:
			retry, last = append(retry, p), e
		}
	}
	return retry, last
}

// accepted forgets the logged refusals of allocations whose reports the
// servers took (an id can come again after a restore).
func (u *updater) accepted(batch []*pendingUpdate) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.logged) == 0 {
		return
	}
	for _, p := range batch {
		delete(u.logged, p.upd.AllocID)
	}
}

// refusedFor handles a report the servers refused for good: it logs the
// first refusal of an allocation as an error and later ones at debug
// level, tells the client, and wakes whoever waits for the report.
func (u *updater) refusedFor(p *pendingUpdate, err error) {
	id := p.upd.AllocID
	u.mu.Lock()
	first := !u.logged[id]
	u.logged[id] = true
	u.mu.Unlock()
	if first {
		u.logger.Error("servers refused allocation report", "alloc", id, "error", err)
	} else {
		u.logger.Debug("servers refused allocation report again", "alloc", id, "error", err)
	}
	if u.refused != nil {
		u.refused(id, err)
	}
	notify([]*pendingUpdate{p}, err)
}

func notify(batch []*pendingUpdate, err error) {
	for _, p := range batch {
		for _, w := range p.waiters {
			w <- err
		}
	}
}

// permanent reports whether the servers refused a request for good, as
// opposed to being unreachable or without a leader for a moment.
func permanent(err error) bool {
	switch structs.CodeOf(err) {
	case structs.CodeNotFound, structs.CodeInvalid, structs.CodeConflict:
		return true
	}
	return false
}

// backoff doubles a wait up to a ceiling.
type backoff struct{ min, max, cur time.Duration }

func newBackoff(min, max time.Duration) *backoff { return &backoff{min: min, max: max, cur: min} }

func (b *backoff) reset() { b.cur = b.min }

// wait sleeps for the current interval, or returns false when ctx ends.
func (b *backoff) wait(ctx context.Context) bool {
	d := b.cur
	b.cur = min(b.cur*2, b.max)
	return sleepCtx(ctx, d)
}

// sleepCtx waits for d, or returns false when ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
