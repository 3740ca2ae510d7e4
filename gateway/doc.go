// Package gateway proxies calls to services: every server answers
// /v1/services/NAME/<rest> by sending the request on to a healthy replica
// of service NAME, so users need only the cluster's address.
//
// The server builds the replica table from its state (the service jobs,
// their live allocations, and the health their clients reported through
// raft) and hands it to Update whenever those change; a request reads the
// table without locks. Forward then:
//
//   - picks the replica with the fewest requests in flight through this
//     gateway (ties go round-robin), over pooled keep-alive connections;
//   - streams the request and response bodies as they come (a response
//     without a length is flushed as it is read: server-sent events and
//     token streams pass through);
//   - on a connection the replica refused (or any error before a byte of
//     the request was sent) tries the next replica, whatever the method;
//     on an error after that, tries the next only for an idempotent
//     request (GET, HEAD, OPTIONS, PUT, DELETE, or any request carrying an
//     Idempotency-Key header) whose body it could keep (at most
//     MaxReplayBody bytes);
//   - answers 503 naming the service and why no replica is healthy when
//     none is, at once: a request never waits for a replica to recover.
//
// The gateway does not decide access (the server's door does), and it
// does not pass the caller's Authorization header on: it carries nai
// tokens, which a service must never see.
//
// gateway imports only the standard library and structs (for the coded
// error body); it must not import server, fsm, client or cmd.
package gateway
