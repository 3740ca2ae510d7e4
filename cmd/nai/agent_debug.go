//go:build !nai_cli

package main

import (
	"net/http"
	"net/http/pprof"
)

// serveDebug serves Go's profiler at /debug/pprof/ (-enable-debug): CPU,
// heap, goroutines and execution traces of a running agent, for profiling
// a dev agent or a server under load (make bench, NAI_BENCH_PROFILE).
func serveDebug(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}
