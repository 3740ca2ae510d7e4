package server

import (
	"fmt"
	"time"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/structs"
)

// Blob garbage collection.
//
// The leader sweeps the blobs table every blobGCInterval (a BlobSweep
// entry, written only when it changes something): a blob nothing in state
// references (no job's code, outputs or metric history, no dataset or
// model version) is marked, and tombstoned once it has stayed unreferenced
// for Config.BlobRetention. Every server's replicator then removes its
// copy of a tombstoned blob and drops its holding; the last drop removes
// the row. A copy written after the tombstone (the same content uploaded
// again) is kept and revives the row instead.

func (s *Server) blobRetention() time.Duration {
	if s.cfg.BlobRetention > 0 {
		return s.cfg.BlobRetention
	}
	return DefaultBlobRetention
}

func (s *Server) blobGCInterval() time.Duration {
	if s.cfg.BlobGCInterval > 0 {
		return s.cfg.BlobGCInterval
	}
	return min(max(s.blobRetention()/4, 10*time.Millisecond), time.Minute)
}

// gcLoop sweeps on the leader at start, every blobGCInterval and after
// every snapshot restore until shutdown. A restored state (into a new
// cluster, the drill's case) names the old cluster's servers as holders:
// they are forgotten at once, so that the blobs show the copies they
// really have and are copied again where a server has them, not a
// minute later.
func (s *Server) gcLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.blobGCInterval())
	defer t.Stop()
	for {
		// Taken before the sweep: a restore during it is swept again.
		restored := s.State().Snapshot().AbandonCh()
		if s.IsLeader() {
			if err := s.sweepBlobs(); err != nil && !s.shuttingDown() {
				s.logger.Warn("blob garbage collection failed", "err", err)
			}
		}
		select {
		case <-s.shutdownCh:
			return
		case <-t.C:
		case <-restored:
		}
	}
}

// clusterServers are the servers of this cluster by name (the raft
// configuration; this server alone for a dev server), or nil when they
// cannot be known now.
func (s *Server) clusterServers() []string {
	if p := s.peers(); p != nil {
		return p.servers()
	}
	return []string{s.cfg.NodeName}
}

func (s *Server) shuttingDown() bool {
	select {
	case <-s.shutdownCh:
		return true
	default:
		return false
	}
}

// sweepBlobs writes one sweep when it would change something.
func (s *Server) sweepBlobs() error {
	// Holders outside the cluster are forgotten only when the cluster's
	// servers are known for sure: a failed read must not forget them all.
	req := &structs.BlobSweepRequest{Now: time.Now().UTC(), Retention: s.blobRetention(), Servers: s.clusterServers()}
	n, err := s.State().Snapshot().BlobSweepChanges(req)
	if err != nil || n == 0 {
		return err
	}
	resp, _, err := s.apply(fsm.BlobSweep, req)
	if err != nil {
		return fmt.Errorf("blob sweep: %w", err)
	}
	if r, ok := resp.(*structs.BlobSweepResponse); ok && (len(r.Tombstoned) > 0 || r.Removed > 0) {
		s.logger.Info("garbage-collected unreferenced blobs", "deleted", len(r.Tombstoned), "rows_removed", r.Removed,
			"retention", req.Retention)
	}
	return nil
}
