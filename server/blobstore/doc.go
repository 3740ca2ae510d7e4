// Package blobstore keeps a server's copies of blobs (job code and outputs,
// datasets, models, metric histories) and keeps them replicated.
//
// Two types do the work:
//
//   - Store is the content-addressed store on one disk: files named by
//     their sha256 under dir/ab/abcd..., written to dir/tmp (or, for a
//     resumable upload session, dir/uploads/<id>) and hashed on the way,
//     then committed by one path (commit in store.go): sync the file,
//     create the fan-out directory, rename into place, sync the
//     directories. A half-written or corrupt blob is never visible under
//     its digest. Store remembers which files it has verified (by size,
//     times and inode), so a copy is hashed again only when it changed.
//   - Replicator keeps this server's store in line with the cluster's
//     blobs table: it copies the blobs this server should hold from a
//     peer (one fetch per digest however many ask, with back-off for a
//     blob nobody can provide), removes tombstoned copies, adopts copies
//     the table does not list, fetches on demand what a reader asks for,
//     and scrubs every copy periodically. It reads the table through
//     Table, reaches other servers through Peers and records holdings
//     through Recorder; the server implements those over raft, serf and
//     HTTP, tests over memory.
//
// Placement: by default every server holds every blob; with Replicas = N
// the servers ranked first for a blob by rendezvous hashing on its digest
// hold it, so servers agree without talking.
//
// blobstore imports structs and nothing else of nai; it knows nothing of
// raft or HTTP.
package blobstore
