// Package loadgen is the load generator of nai's benchmarks: it sends the
// same HTTP request many times from concurrent clients on loopback and
// reports each request's latency, so a benchmark can compare two paths to
// the same answer (a service replica called directly and through the
// gateway) at percentiles. Only benchmarks import it.
package loadgen
