package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/server/blobstore"
	"github.com/nai-project/nai/structs"
)

// The blob routes. The store and its replication are server/blobstore
// (blob_replicate.go wires them); these handlers read and write through
// s.blobr, so every blob that enters is recorded and every read is of a
// verified copy.

// putBlob stores an upload and records the holding.
func (s *Server) putBlob(ctx context.Context, r io.Reader) (string, int64, error) {
	info, err := s.blobr.Put(ctx, r)
	return info.Digest, info.Size, err
}

// openBlob opens a verified copy of digest, fetching it from a peer when
// this server has none (or a corrupt one).
func (s *Server) openBlob(ctx context.Context, digest string) (*os.File, error) {
	return s.blobr.Open(ctx, digest)
}

// blobSize returns the size of a blob the servers hold.
func (s *Server) blobSize(ctx context.Context, digest string) (int64, error) {
	return s.blobr.Size(ctx, digest)
}

// digestPrefix may start a blob's digest in a path: nai prints digests
// so ("sha256:2cf24dba5fb0"), and job files name uploaded code so.
const digestPrefix = "sha256:"

// blobDigest reads the {digest} of a blob data route, HEAD and GET alike:
// a sha256 as 64 lower-case hex digits, bare or after "sha256:". It
// returns the bare form, which is how the store and the state name blobs.
func blobDigest(r *request) (string, error) {
	raw := r.PathValue("digest")
	digest := strings.TrimPrefix(raw, digestPrefix)
	if !blobstore.ValidDigest(digest) {
		return "", structs.NewError(structs.CodeInvalid, "invalid blob digest %q: expected a sha256, 64 lower-case hex digits, alone or after %q", raw, digestPrefix)
	}
	return digest, nil
}

// blobHead answers HEAD /v1/blobs/{digest}: whether the servers hold it
// (a local copy or a live row). With ?local=true, only this server's own
// verified copy counts.
func (s *Server) blobHead(w http.ResponseWriter, r *request) error {
	digest, err := blobDigest(r)
	if err != nil {
		return err
	}
	notFound := structs.NewError(structs.CodeNotFound, "blob %s not found", digest)
	if !claimExempt(r.acl) {
		// A user learns only of content it may name (blob_claims.go): for
		// any other, the blob is not found, as if it did not exist.
		c := &blobClaims{s: s, r: r}
		if ok, err := c.may(r.Context(), digest); err != nil {
			return err
		} else if !ok {
			return notFound
		}
	}
	if r.URL.Query().Get("local") == "true" {
		f, err := s.blobr.OpenLocal(r.Context(), digest)
		if err != nil {
			return err
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil {
			w.Header().Set("Content-Length", fmt.Sprint(fi.Size()))
		}
		return nil
	}
	if fi, err := s.blobs.Stat(digest); err == nil {
		w.Header().Set("Content-Length", fmt.Sprint(fi.Size()))
		return nil
	}
	if b, _ := r.snap.BlobByDigest(nil, digest); b != nil && !b.Deleted && len(b.Holders) > 0 {
		w.Header().Set("Content-Length", fmt.Sprint(b.Size))
		return nil
	}
	return notFound
}

// blobGet answers GET /v1/blobs/{digest}, fetching from a peer when this
// server lacks the blob. With ?local=true (a peer copying) only this
// server's own verified copy is served.
func (s *Server) blobGet(w http.ResponseWriter, r *request) error {
	digest, err := blobDigest(r)
	if err != nil {
		return err
	}
	var f *os.File
	if r.URL.Query().Get("local") == "true" {
		f, err = s.blobr.OpenLocal(r.Context(), digest)
	} else {
		f, err = s.blobr.Open(r.Context(), digest)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r.Request, "", time.Time{}, f)
	return nil
}

// blobRegister records, on the leader, that a server holds a blob.
func (s *Server) blobRegister(r *request) (any, uint64, error) {
	var req structs.BlobRegisterRequest
	if err := decodeBody(r.Request, &req); err != nil {
		return nil, 0, err
	}
	if req.Digest != r.PathValue("digest") {
		return nil, 0, structs.NewError(structs.CodeInvalid, "the body names blob %q, the path %q", req.Digest, r.PathValue("digest"))
	}
	if req.Now.IsZero() {
		req.Now = time.Now().UTC()
	}
	if err := req.Validate(); err != nil {
		return nil, 0, err
	}
	return s.applyIndex(fsm.BlobRegister, &req)
}

// blobDrop records, on the leader, that a server dropped its copy.
func (s *Server) blobDrop(r *request) (any, uint64, error) {
	drain(r.Request)
	req := &structs.BlobDropRequest{Digest: r.PathValue("digest"), Server: r.PathValue("server")}
	if err := req.Validate(); err != nil {
		return nil, 0, err
	}
	return s.applyIndex(fsm.BlobDrop, req)
}

// blobList lists every blob with its references and how many copies are
// wanted, under-replicated ones first.
func (s *Server) blobList(r *request) (any, uint64, error) {
	snap := r.snap
	rows, err := snap.Blobs(nil)
	if err != nil {
		return nil, 0, err
	}
	refs, err := snap.BlobReferences()
	if err != nil {
		return nil, 0, err
	}
	wanted := s.blobr.Wanted()
	// Holders that are not servers of this cluster (a state restored from
	// another cluster names its servers) hold no copy anyone can fetch:
	// they are not shown, until the leader's next sweep forgets them.
	servers := s.clusterServers()
	out := make([]*structs.Blob, 0, len(rows))
	for _, b := range rows {
		c := b.Copy()
		if len(servers) > 0 {
			c.Holders = slices.DeleteFunc(c.Holders, func(h string) bool { return !slices.Contains(servers, h) })
		}
		c.References = refs[b.Digest]
		c.Wanted = wanted
		if c.Deleted {
			c.Wanted = 0
		}
		out = append(out, c)
	}
	under := func(b *structs.Blob) bool { return len(b.Holders) < b.Wanted }
	slices.SortStableFunc(out, func(a, b *structs.Blob) int {
		if ua, ub := under(a), under(b); ua != ub {
			if ua {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Digest, b.Digest)
	})
	return out, snap.TableIndex(state.TableBlobs), nil
}
