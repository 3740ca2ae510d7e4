// Package snapshot writes and reads the archive of `nai operator snapshot`,
// modelled on Consul's: a tar+gzip stream of three files, in this order,
//
//	meta.json    structs.SnapshotMeta (index, term, cluster id, version)
//	state.bin    the raft snapshot of the state, as the FSM persists it
//	SHA256SUMS   "HEX  NAME" lines for meta.json and state.bin
//
// Read checks everything before it hands anything back: the gzip and tar
// framing (a truncated file fails there), the names and order of the
// entries, the sizes, and both checksums. It knows nothing of what the
// state means; fsm/state checks that (state.Inspect).
//
// It imports only the standard library and structs.
package snapshot
