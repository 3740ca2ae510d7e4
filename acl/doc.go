// Package acl decides what a caller may do. It is pure: it reads the
// identity the server resolved for a request (a token with its user and
// the user's group roles, a client node's secret, another server, or
// nobody) and answers "may it do X on Y" from memory, with no I/O, no clock
// and no state store. The server's one HTTP door resolves the identity,
// asks Check for the capability each route declares, and handlers ask the
// object checks (CheckJob, CheckArtifact, CheckSubmit) before they change
// anything; nothing else in nai decides access.
//
// The rules:
//
//   - management (policy): everything; a server presenting the servers'
//     shared secret is treated the same way.
//   - operator (policy): nodes, drains, queues, shares, quotas, blobs,
//     raft, the audit log; the metadata of every job (not its logs,
//     outputs or metrics); tasks as another unix account.
//   - node (policy): registering client nodes, nothing else.
//   - a user: its own jobs; the jobs, datasets and models of its groups
//     by role: reader sees them and pulls; member also submits and pushes
//     under the group; admin also cancels others' jobs and removes.
//   - a client node (its node secret): the client API for itself.
//   - nobody (no token): public routes only.
//
// Refusals are *structs.Error with CodeUnauthorized (no usable
// credential) or CodeForbidden (a known caller without the right; the
// message names the right that is missing). A job, dataset, model or
// plugin that the caller may not even see is answered as one that does
// not exist instead (HidesJob, HidesArtifact): a 403 would tell it that
// the object exists.
//
// acl imports structs only.
package acl
