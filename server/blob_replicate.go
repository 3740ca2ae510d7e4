package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/server/blobstore"
	"github.com/nai-project/nai/structs"
)

// Blob replication. The bytes of a blob live on each server's disk
// (blobstore.Store); which servers hold it lives in raft (the blobs table).
// blobstore.Replicator keeps the two in line; this file gives it what it
// needs from a server:
//
//   - the table: a fresh state snapshot per use;
//   - a Recorder that records "server X holds D" through raft: the leader
//     applies it itself; any other server sends it to the leader's
//     servers-only route (PUT /v1/operator/blobs/{digest}/holders), found
//     as forwarding finds it, waiting out an election (leaderWrite);
//   - Peers: the servers in raft's configuration, alive in serf, copied
//     from over HTTP (GET /v1/blobs/{digest}?stale&local=true, which a
//     peer answers from its own verified copy without forwarding or
//     fetching in turn).
//
// Blob data routes (/v1/blobs...) are answered by the server that receives
// them, never forwarded to the leader: each server has its own store.

// Defaults of the blob maintenance knobs in Config.
const (
	DefaultBlobRetention       = 24 * time.Hour
	DefaultBlobRecheckInterval = blobstore.DefaultRecheckInterval
	DefaultBlobScrubInterval   = blobstore.DefaultScrubInterval
)

// newReplicator wires a replicator to this server.
func (s *Server) newReplicator(store *blobstore.Store) *blobstore.Replicator {
	return blobstore.NewReplicator(blobstore.ReplicatorConfig{
		Self:     s.cfg.NodeName,
		Store:    store,
		State:    func() blobstore.Table { return s.State().Snapshot() },
		Peers:    blobPeers{s},
		Recorder: blobRecorder{s},
		Replicas: s.cfg.BlobReplicas,
		Recheck:  s.cfg.BlobRecheckInterval,
		Scrub:    s.cfg.BlobScrubInterval,
		Logger:   s.logger.With("subsystem", "blobs"),
	})
}

// startBlobLoops starts replication (with the scrub) and garbage
// collection, once: from New for a dev server, from StartCluster for a
// cluster member.
func (s *Server) startBlobLoops() {
	s.blobLoops.Do(func() {
		s.wg.Add(2)
		go func() {
			defer s.wg.Done()
			ctx, cancel := s.shutdownCtx()
			defer cancel()
			s.blobr.Run(ctx)
		}()
		go s.gcLoop()
	})
}

// shutdownCtx is a context that ends when the server shuts down.
func (s *Server) shutdownCtx() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-s.shutdownCh:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// peerSource finds the other servers: who is in raft, and the HTTP
// address of a live one. In a cluster it is raft's configuration and serf;
// a dev server has none; tests give their own.
type peerSource interface {
	// servers lists every server of the cluster, this one included.
	servers() []string
	// httpAddr is a live server's HTTP host:port.
	httpAddr(name string) (string, bool)
}

type clusterPeers struct{ s *Server }

func (p clusterPeers) servers() []string {
	conf, err := p.s.raftServers()
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(conf))
	for _, srv := range conf {
		out = append(out, string(srv.ID))
	}
	return out
}

func (p clusterPeers) httpAddr(name string) (string, bool) {
	mem, ok := p.s.cluster.memberByName(name)
	if !ok || !mem.Alive() || mem.Tags.HTTPAddr == "" {
		return "", false
	}
	return mem.Tags.HTTPAddr, true
}

// peers returns where to find other servers; nil for a dev server.
func (s *Server) peers() peerSource {
	switch {
	case s.cfg.blobPeers != nil:
		return s.cfg.blobPeers
	case s.cluster != nil:
		return clusterPeers{s}
	}
	return nil
}

// blobPeers is blobstore.Peers over serf, raft and HTTP. It asks s.peers()
// on every call: a server joins its cluster after it starts.
type blobPeers struct{ s *Server }

func (p blobPeers) Servers() []string {
	if src := p.s.peers(); src != nil {
		return src.servers()
	}
	return nil
}

func (p blobPeers) Alive(name string) bool {
	_, ok := p.addr(name)
	return ok
}

func (p blobPeers) addr(name string) (string, bool) {
	src := p.s.peers()
	if src == nil || name == p.s.cfg.NodeName {
		return "", false
	}
	return src.httpAddr(name)
}

func (p blobPeers) Fetch(ctx context.Context, name, digest string) (io.ReadCloser, error) {
	addr, ok := p.addr(name)
	if !ok {
		return nil, structs.NewError(structs.CodeUnavailable, "server %s is not alive", name)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.s.scheme()+"://"+addr+"/v1/blobs/"+digest+"?stale&local=true", nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.s.peerDo(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("GET blob: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return resp.Body, nil
}

// blobRecorder is blobstore.Recorder through raft's leader.
type blobRecorder struct{ s *Server }

func (r blobRecorder) Hold(ctx context.Context, digest string, size int64) error {
	req := &structs.BlobRegisterRequest{Digest: digest, Size: size, Server: r.s.cfg.NodeName, Now: time.Now().UTC()}
	return r.s.leaderWrite(ctx, fsm.BlobRegister, http.MethodPut, "/v1/operator/blobs/"+digest+"/holders", req)
}

func (r blobRecorder) Drop(ctx context.Context, digest string) error {
	req := &structs.BlobDropRequest{Digest: digest, Server: r.s.cfg.NodeName}
	return r.s.leaderWrite(ctx, fsm.BlobDrop, http.MethodDelete, "/v1/operator/blobs/"+digest+"/holders/"+r.s.cfg.NodeName, req)
}
