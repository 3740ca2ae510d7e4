package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nai-project/nai/acl"
	"github.com/nai-project/nai/structs"
)

// Who may name a blob. Blobs are content-addressed, and a digest is no
// secret (it is shown to a job's and a version's readers, and it sits in
// clients' caches), so naming one must not be enough to get its content:
// a push (a dataset, model or plugin version) or a job's code may name a
// digest only when the caller uploaded that content itself, or may read a
// job or a version that already names it. Anyone else is told the blob is
// not found, as if it did not exist. Management tokens, servers and ACLs
// off are exempt.
//
// Who uploaded what is each server's own memory (uploadLedger), not raft
// state: the server that took an upload remembers it until the blob
// retention has passed, and a server that does not remember asks its
// peers (GET /v1/operator/uploads/{user}). A server that restarts forgets:
// its users upload again (the CLI does, as the blob then looks absent).
//
// The same memory bounds what a user may keep uploaded but unused
// (uploadLimit): content no job or version names yet, kept for the blob
// retention, fills every server's disk.

// DefaultUploadPendingLimit bounds a user's uploaded but not yet used
// bytes when neither the configuration nor a storage quota says.
const DefaultUploadPendingLimit = int64(100) << 30

// uploadLedger remembers, on one server, which user uploaded which blob
// and which upload sessions are whose.
type uploadLedger struct {
	mu       sync.Mutex
	byUser   map[string]map[string]structs.BlobUpload
	sessions map[string]string // upload session id -> user
	// pruned is when uploads older than the retention were last
	// forgotten for every user.
	pruned time.Time
}

// record remembers that user uploaded a blob, and now and then forgets
// every upload from before since.
func (l *uploadLedger) record(user string, u structs.BlobUpload, since time.Time) {
	if user == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byUser == nil {
		l.byUser = map[string]map[string]structs.BlobUpload{}
	}
	if u.Time.Sub(l.pruned) > time.Minute {
		l.pruned = u.Time
		for name, m := range l.byUser {
			for d, old := range m {
				if !old.Time.After(since) {
					delete(m, d)
				}
			}
			if len(m) == 0 {
				delete(l.byUser, name)
			}
		}
	}
	m := l.byUser[user]
	if m == nil {
		m = map[string]structs.BlobUpload{}
		l.byUser[user] = m
	}
	m[u.Digest] = u
}

// of lists what user uploaded since after (older uploads are forgotten).
func (l *uploadLedger) of(user string, after time.Time) []structs.BlobUpload {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.byUser[user]
	out := make([]structs.BlobUpload, 0, len(m))
	for d, u := range m {
		if !u.Time.After(after) {
			delete(m, d)
			continue
		}
		out = append(out, u)
	}
	if len(m) == 0 {
		delete(l.byUser, user)
	}
	slices.SortFunc(out, func(a, b structs.BlobUpload) int { return a.Time.Compare(b.Time) })
	return out
}

func (l *uploadLedger) has(user, digest string, after time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	u, ok := l.byUser[user][digest]
	return ok && u.Time.After(after)
}

func (l *uploadLedger) startSession(id, user string) {
	if user == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sessions == nil {
		l.sessions = map[string]string{}
	}
	l.sessions[id] = user
}

func (l *uploadLedger) endSession(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.sessions, id)
}

func (l *uploadLedger) sessionsOf(user string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for id, u := range l.sessions {
		if u == user {
			out = append(out, id)
		}
	}
	return out
}

// uploadsSince is when the uploads still remembered began.
func (s *Server) uploadsSince() time.Time { return time.Now().Add(-s.blobRetention()) }

// claimExempt reports whether the caller may name any blob.
func claimExempt(a *acl.ACL) bool {
	return !a.Enabled() || a.IsManagement() || a.Identity().Kind == acl.KindNode
}

// blobClaims checks the digests one request names, sharing the work of
// reading what state references.
type blobClaims struct {
	s    *Server
	r    *request
	refs map[string][]structs.BlobRef
	peer []structs.BlobUpload
	// peerAsked: the peers were asked once for this request.
	peerAsked bool
}

// may reports whether the caller may name digest (see the top of this
// file); the error is only for a failure to find out.
func (c *blobClaims) may(ctx context.Context, digest string) (bool, error) {
	a := c.r.acl
	if claimExempt(a) {
		return true, nil
	}
	user := a.UserName()
	since := c.s.uploadsSince()
	if user != "" && c.s.uploads.has(user, digest, since) {
		return true, nil
	}
	if c.refs == nil {
		refs, err := c.r.snap.BlobReferences()
		if err != nil {
			return false, err
		}
		c.refs = refs
	}
	for _, ref := range c.refs[digest] {
		if c.readable(ref) {
			return true, nil
		}
	}
	if user == "" {
		return false, nil
	}
	if !c.peerAsked {
		c.peerAsked = true
		c.peer = c.s.peerUploads(ctx, user)
	}
	for _, u := range c.peer {
		if u.Digest == digest && u.Time.After(since) {
			return true, nil
		}
	}
	return false, nil
}

// readable reports whether the caller may read the content of what ref
// names.
func (c *blobClaims) readable(ref structs.BlobRef) bool {
	a, snap := c.r.acl, c.r.snap
	var kind structs.ArtifactKind
	switch ref.Kind {
	case structs.BlobRefDataset:
		kind = structs.KindDataset
	case structs.BlobRefModel:
		kind = structs.KindModel
	case structs.BlobRefPlugin:
		kind = structs.KindPlugin
	default: // a job's code, outputs, metrics or logs
		j, err := snap.JobByID(nil, ref.ID)
		return err == nil && j != nil && a.CheckJob(j.ID, j.User, j.Group, acl.ReadData) == nil
	}
	name, _, _ := strings.Cut(ref.ID, ":")
	art, err := snap.ArtifactByName(nil, kind, name)
	return err == nil && art != nil && a.CheckArtifact(kind, name, art.User, art.Group, acl.ReadData) == nil
}

// checkJobCode refuses jobs whose code the caller may not name.
func (s *Server) checkJobCode(r *request, jobs []*structs.Job, template *structs.Job) error {
	if claimExempt(r.acl) {
		return nil
	}
	c := &blobClaims{s: s, r: r}
	seen := map[string]bool{}
	if template != nil {
		jobs = append([]*structs.Job{template}, jobs...)
	}
	for _, j := range jobs {
		if j.Code == "" || seen[j.Code] {
			continue
		}
		seen[j.Code] = true
		ok, err := c.may(r.Context(), j.Code)
		if err != nil {
			return err
		}
		if !ok {
			return structs.NewError(structs.CodeInvalid, "job %q: its code, blob %s, was not found: upload the code folder first (nai job run does)", j.Name, j.Code)
		}
	}
	return nil
}

// peerUploads asks every other live server what user uploaded to it.
// A server that does not answer is left out: the caller is then refused
// as if it had not uploaded there, and may upload again.
func (s *Server) peerUploads(ctx context.Context, user string) []structs.BlobUpload {
	src := s.peers()
	if src == nil {
		return nil
	}
	var (
		mu  sync.Mutex
		out []structs.BlobUpload
		wg  sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, name := range src.servers() {
		if name == s.cfg.NodeName {
			continue
		}
		addr, ok := src.httpAddr(name)
		if !ok {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			us, err := s.askUploads(ctx, addr, user)
			if err != nil {
				s.logger.Debug("asking a server for a user's uploads failed", "server", name, "err", err)
				return
			}
			mu.Lock()
			out = append(out, us...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

func (s *Server) askUploads(ctx context.Context, addr, user string) ([]structs.BlobUpload, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.scheme()+"://"+addr+"/v1/operator/uploads/"+url.PathEscape(user)+"?stale", nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.peerDo(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, structs.NewError(structs.CodeUnavailable, "GET uploads: %s", resp.Status)
	}
	var out []structs.BlobUpload
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// uploadList answers GET /v1/operator/uploads/{user} (servers only): what
// the user uploaded to this server and is still remembered.
func (s *Server) uploadList(r *request) (any, uint64, error) {
	return s.uploads.of(r.PathValue("user"), s.uploadsSince()), 0, nil
}

// uploadLimit is how many bytes user may keep uploaded but unused: the
// configured bound, else the storage quota of the user (or of its
// personal group), else DefaultUploadPendingLimit.
func (s *Server) uploadLimit(r *request, user string) int64 {
	if s.cfg.UploadPendingLimit > 0 {
		return s.cfg.UploadPendingLimit
	}
	if qs, err := r.snap.Quotas(nil); err == nil {
		for _, q := range qs {
			if q.Name == user && q.MaxStorageBytes > 0 && (q.Kind == structs.AccountUser || q.Kind == structs.AccountGroup) {
				return q.MaxStorageBytes
			}
		}
	}
	return DefaultUploadPendingLimit
}

// pendingUploads is what user uploaded (to any server) that nothing in
// state names yet: its bytes, and when the oldest of it is forgotten.
func (s *Server) pendingUploads(r *request, user string) (int64, time.Time, error) {
	since := s.uploadsSince()
	all := append(s.uploads.of(user, since), s.peerUploads(r.Context(), user)...)
	if len(all) == 0 {
		return 0, time.Time{}, nil
	}
	refs, err := r.snap.BlobReferences()
	if err != nil {
		return 0, time.Time{}, err
	}
	var total int64
	var oldest time.Time
	seen := map[string]bool{}
	for _, u := range all {
		if seen[u.Digest] || len(refs[u.Digest]) > 0 || !u.Time.After(since) {
			continue
		}
		seen[u.Digest] = true
		total += u.Size
		if oldest.IsZero() || u.Time.Before(oldest) {
			oldest = u.Time
		}
	}
	return total, oldest, nil
}

// uploadRoom is how many more bytes the caller may upload, with the error
// to give when an upload needs more; -1 for no bound.
func (s *Server) uploadRoom(r *request) (int64, func(need int64) error, error) {
	a := r.acl
	user := a.UserName()
	if claimExempt(a) || user == "" {
		return -1, nil, nil
	}
	pending, oldest, err := s.pendingUploads(r, user)
	if err != nil {
		return 0, nil, err
	}
	for _, id := range s.uploads.sessionsOf(user) {
		if off, err := s.blobs.UploadOffset(id); err == nil {
			pending += off
		} else if structs.CodeOf(err) == structs.CodeNotFound {
			s.uploads.endSession(id)
		}
	}
	limit := s.uploadLimit(r, user)
	refuse := func(size int64) error {
		msg := "upload refused: user %s keeps %s uploaded that no job or version uses yet, and may keep %s; this upload (%s or more) does not fit"
		args := []any{user, structs.FormatSize(pending), structs.FormatSize(limit), structs.FormatSize(size)}
		if !oldest.IsZero() {
			msg += "; the oldest of it is forgotten at %s (blob retention %s)"
			args = append(args, oldest.Add(s.blobRetention()).UTC().Format(time.RFC3339), s.blobRetention())
		}
		msg += ": push or submit what you uploaded, or wait"
		return structs.NewError(structs.CodeConflict, msg, args...)
	}
	return max(limit-pending, 0), refuse, nil
}

// boundedBody reads at most room bytes of body and then fails with the
// refusal; room < 0 is no bound.
type boundedBody struct {
	r      io.Reader
	room   int64
	read   int64
	refuse func(int64) error
	// err is the refusal, once given.
	err error
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.room < 0 {
		return b.r.Read(p)
	}
	if b.err != nil {
		return 0, b.err
	}
	if int64(len(p)) > b.room-b.read+1 {
		p = p[:b.room-b.read+1]
	}
	n, err := b.r.Read(p)
	b.read += int64(n)
	if b.read > b.room {
		b.err = b.refuse(b.read)
		return n, b.err
	}
	return n, err
}
