//go:build !nai_cli

package main

import (
	"net/http"

	"github.com/nai-project/nai/client"
	"github.com/nai-project/nai/internal/promtext"
	"github.com/nai-project/nai/server"
)

// serveClientMetrics makes one Prometheus registry per agent: with a
// server in the process the client's GPUs join the server's registry
// (served by the server's /v1/metrics); a client-only agent serves its
// own, with Go's runtime figures, through the client's door.
func serveClientMetrics(mux *http.ServeMux, srv *server.Server, cl *client.Client) error {
	if srv != nil {
		return srv.RegisterMetrics(cl.MetricsCollector())
	}
	reg := promtext.NewRegistry()
	if err := reg.Register(promtext.NewGoCollector()); err != nil {
		return err
	}
	if err := reg.Register(promtext.NewProcessCollector()); err != nil {
		return err
	}
	if err := reg.Register(cl.MetricsCollector()); err != nil {
		return err
	}
	cl.ServeMetrics(reg)
	mux.Handle("GET /v1/metrics", cl.Handler())
	return nil
}
