package blobstore

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/nai-project/nai/structs"
)

// placement returns the names of the cluster's servers, sorted, and how
// many copies of each blob are wanted.
func (r *Replicator) placement() ([]string, int) {
	servers := slices.Clone(r.cfg.Peers.Servers())
	if len(servers) == 0 {
		servers = []string{r.cfg.Self}
	}
	slices.Sort(servers)
	wanted := len(servers)
	if r.cfg.Replicas > 0 {
		wanted = min(r.cfg.Replicas, wanted)
	}
	return servers, wanted
}

// Wanted is how many copies of each blob the cluster keeps.
func (r *Replicator) Wanted() int {
	_, n := r.placement()
	return n
}

// shouldHold decides whether self should fetch a copy of b: it is a live
// blob self lacks, it lacks copies, and among the live servers without one
// self ranks high enough (rendezvous hashing on the digest, so the servers
// agree without talking).
func shouldHold(b *structs.Blob, self string, servers []string, wanted int, alive func(string) bool) bool {
	if b.Deleted || b.HeldBy(self) || !slices.Contains(servers, self) {
		return false
	}
	have := 0
	var cands []string
	for _, srv := range servers {
		switch {
		case b.HeldBy(srv):
			have++
		case srv == self || alive(srv):
			cands = append(cands, srv)
		}
	}
	need := wanted - have
	if need <= 0 {
		return false
	}
	rank := func(srv string) string {
		sum := sha256.Sum256([]byte(b.Digest + "\x00" + srv))
		return hex.EncodeToString(sum[:8])
	}
	slices.SortFunc(cands, func(a, c string) int { return strings.Compare(rank(a), rank(c)) })
	return slices.Index(cands, self) < need
}
