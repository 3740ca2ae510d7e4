package server

import (
	"net/http"
	"strconv"

	"github.com/nai-project/nai/acl"
	"github.com/nai-project/nai/jobspec"
	"github.com/nai-project/nai/structs"
	"github.com/nai-project/nai/ui"
)

// The web UI (package ui) is static files: every server serves them at
// /ui/ to anyone, and the pages read everything through the API below
// with the token the user logs in with. The routes here that the UI uses
// and the CLI does not are documented and tested like the rest.
func (s *Server) uiRoutes() []route {
	return []route{
		{Method: "GET", Path: "/ui/", Cap: acl.Public, stream: s.serveUI,
			Doc: "the web UI's static files; its data comes through this API with the caller's token"},
		{Method: "GET", Path: "/v1/jobs/{id}/hcl", Cap: acl.User, stream: s.jobHCL,
			Doc: "the job as a job file, as nai job inspect -hcl prints it (group reader)"},
	}
}

var uiHandler = http.StripPrefix("/ui/", ui.Handler())

func (s *Server) serveUI(w http.ResponseWriter, r *request) error {
	uiHandler.ServeHTTP(w, r.Request)
	return nil
}

func (s *Server) jobHCL(w http.ResponseWriter, r *request) error {
	j, err := jobFor(r, r.snap, nil, r.PathValue("id"), acl.Read)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set(structs.IndexHeader, strconv.FormatUint(j.ModifyIndex, 10))
	_, _ = w.Write(jobspec.FormatHCL(j))
	return nil
}
