package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/nai-project/nai/acl"
	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/gateway"
	"github.com/nai-project/nai/structs"
)

// serviceRoutes are the services' API: managing them by name, and the
// gateway (services.go) that answers /v1/services/NAME/<rest> by proxying
// to a healthy replica. The exact path /v1/services/NAME is the service's
// status; its own paths all lie below /v1/services/NAME/.
func (s *Server) serviceRoutes() []route {
	return []route{
		{Method: "GET", Path: "/v1/services", Cap: acl.User, handle: s.serviceList, Doc: "the running services the caller may see, with their replicas"},
		{Method: "POST", Path: "/v1/services", Cap: acl.User, handle: s.serveModel, Doc: "serve a model version: a service job running the model's serve command (nai serve)"},
		{Method: "GET", Path: "/v1/services/{name}", Cap: acl.User, handle: s.serviceGet, Doc: "a service's status: its replicas with address, health and restarts (blocking query with ?index=&wait=)"},
		{Method: "POST", Path: "/v1/services/{name}", Cap: acl.User, handle: s.serviceUpdate, Doc: "scale a service ({\"replicas\": N}) or roll it out to another model version ({\"model\": \"M:V\"})"},
		{Method: "DELETE", Path: "/v1/services/{name}", Cap: acl.User, handle: s.serviceStop, Doc: "stop a service: its replicas stop and it ends cancelled"},
		{Path: "/v1/services/{name}/{rest...}", Cap: acl.Public, stream: s.serviceCall, service: true,
			Doc: "call a service: any method, proxied to a healthy replica (a token with reader rights on its group unless it is public)"},
	}
}

// isServiceCall reports whether path is a call through the gateway:
// /v1/services/NAME/ and below.
func isServiceCall(path string) bool {
	rest, ok := strings.CutPrefix(path, "/v1/services/")
	return ok && strings.Contains(rest, "/")
}

func (s *Server) serviceList(r *request) (any, uint64, error) {
	var out []*structs.Service
	idx, err := s.blockingQuery(r, func(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
		jobs, err := snap.Services(ws)
		if err != nil {
			return 0, err
		}
		out = []*structs.Service{}
		for _, j := range jobs {
			if !r.acl.CanSeeJob(j.User, j.Group) {
				continue
			}
			allocs, err := snap.AllocsByJob(ws, j.ID)
			if err != nil {
				return 0, err
			}
			out = append(out, structs.ServiceView(j, allocs))
		}
		return max(snap.TableIndex(state.TableJobs), snap.TableIndex(state.TableAllocs)), nil
	})
	return out, idx, err
}

// serviceFor finds the running service of a name the caller may act on
// with right.
func serviceFor(r *request, snap *state.Snapshot, ws memdb.WatchSet, name string, right acl.Right) (*structs.Job, error) {
	if !structs.ValidName(name) {
		return nil, structs.NewError(structs.CodeInvalid, "service name %q is invalid: use letters, digits, '.', '_' and '-'", name)
	}
	j, err := snap.ServiceByName(ws, name)
	if err != nil {
		return nil, err
	}
	if j == nil {
		return nil, structs.NewError(structs.CodeNotFound, "no service named %q runs (see `nai service list`)", name)
	}
	if err := r.acl.CheckJob(j.ID, j.User, j.Group, right); err != nil {
		return nil, serviceRefusal(r, j, err)
	}
	return j, nil
}

// serviceRefusal is the refusal of a service: to a caller that may not
// even read it, one that names neither its job nor its owner nor its
// group (the name is taken, no more); to others, the ACL's.
func serviceRefusal(r *request, j *structs.Job, err error) error {
	if r.acl.CanSeeJob(j.User, j.Group) {
		return err
	}
	return structs.NewError(structs.CodeForbidden, "permission denied: the service %q belongs to another group", j.Name)
}

func (s *Server) serviceGet(r *request) (any, uint64, error) {
	name := r.PathValue("name")
	var out *structs.Service
	idx, err := s.blockingQuery(r, func(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
		j, err := serviceFor(r, snap, ws, name, acl.Read)
		if err != nil {
			return 0, err
		}
		allocs, err := snap.AllocsByJob(ws, j.ID)
		if err != nil {
			return 0, err
		}
		out = structs.ServiceView(j, allocs)
		idx := j.ModifyIndex
		for _, a := range allocs {
			idx = max(idx, a.ModifyIndex)
		}
		return idx, nil
	})
	return out, idx, err
}

// serveModel makes a service of a model version: its files are staged
// read-only at NAI_MODEL_DIR, and the command (the version's serve
// command unless one is given) runs in that directory.
func (s *Server) serveModel(r *request) (any, uint64, error) {
	var req structs.ServeRequest
	if err := decodeBody(r.Request, &req); err != nil {
		return nil, 0, err
	}
	mname, mver, err := structs.ParseArtifactRef(req.Model)
	if err != nil {
		return nil, 0, structs.NewError(structs.CodeInvalid, "model %q: %v (expected NAME or NAME:VERSION)", req.Model, err)
	}
	v, err := modelVersion(r, mname, mver)
	if err != nil {
		return nil, 0, err
	}
	argv, fromModel, err := serveCommand(mname, v, req.Command)
	if err != nil {
		return nil, 0, err
	}
	name := req.Name
	if name == "" {
		name = mname
	}
	replicas := req.Replicas
	if replicas == 0 {
		replicas = 1
	}
	if req.GPUs < 0 || req.CPU < 0 || req.Memory < 0 {
		return nil, 0, structs.NewError(structs.CodeInvalid, "gpus, cpu and memory must not be negative")
	}
	j := &structs.Job{
		Name: name, Type: structs.JobService, User: req.User, Group: req.Group, Queue: req.Queue,
		Description: "serves model " + mname + ":" + fmt.Sprint(v.Version),
		Resources:   structs.Resources{CPU: req.CPU, MemoryBytes: req.Memory, GPU: structs.GPURequest{Count: req.GPUs}},
		Models:      []structs.ArtifactRef{{Name: mname, Version: fmt.Sprint(v.Version)}},
		Task:        modelTask(argv, req.Env),
		Service:     &structs.ServiceSpec{Replicas: replicas, Public: req.Public, ModelCommand: fromModel},
	}
	j.Canonicalize()
	// The task's sizes are bounded as a submission's (checkTaskSizes).
	if err := errors.Join(j.Validate(), checkTaskSizes(j.Task)); err != nil {
		return nil, 0, structs.NewError(structs.CodeInvalid, "service %q is invalid: %v", name, err)
	}
	if err := ownJobs(r, []*structs.Job{j}); err != nil {
		return nil, 0, err
	}
	if err := serviceNameFree(r, j); err != nil {
		return nil, 0, err
	}
	resp, idx, err := s.apply(fsm.JobRegister, &structs.JobRegisterRequest{Jobs: []*structs.Job{j}, Now: time.Now().UTC()})
	if err != nil {
		return nil, 0, err
	}
	out, ok := resp.(*structs.JobRegisterResponse)
	if !ok || len(out.JobIDs) != 1 {
		return nil, 0, fmt.Errorf("raft answered a service registration with %T", resp)
	}
	r.audit = "service " + name + " (job " + out.JobIDs[0] + ")"
	out.Warnings = append(out.Warnings, submitUnfitWarnings(r.snap, []*structs.Job{j}, nil, out.JobIDs, "")...)
	return &structs.ServiceResponse{JobID: out.JobIDs[0], Name: name, Version: 1, Index: idx, Warnings: out.Warnings}, idx, nil
}

// modelVersion finds a model version the caller may read.
func modelVersion(r *request, name, version string) (*structs.ArtifactVersion, error) {
	m, err := r.snap.ArtifactByName(nil, structs.KindModel, name)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, missingArtifact(r, structs.KindModel, name, "%s %q does not exist (see `nai model list`)")
	}
	if err := checkArtifact(r, structs.KindModel, name, m, acl.Read, "%s %q does not exist (see `nai model list`)"); err != nil {
		return nil, err
	}
	return m.Resolve(version)
}

// serveCommand is what a service of a model version runs: the command
// given, else the version's serve command. fromModel says it is the
// latter, so a rollout takes the next version's.
func serveCommand(model string, v *structs.ArtifactVersion, given []string) (argv []string, fromModel bool, err error) {
	if len(given) > 0 {
		for _, w := range given {
			if w == "" || strings.ContainsRune(w, 0) {
				return nil, false, structs.NewError(structs.CodeInvalid, "command %q has an empty or invalid word", given)
			}
		}
		return given, false, nil
	}
	if len(v.Serve) == 0 {
		return nil, false, structs.NewError(structs.CodeInvalid,
			"model %s:%d has no serve command: it has no serve.py and was not registered with one (output { serve = [...] }); give the command after --, as in `nai serve %s:%d -- python3 app.py`",
			model, v.Version, model, v.Version)
	}
	return v.Serve, true, nil
}

// modelTask runs argv in the model's directory, by exec so that the
// replica's process is the command itself.
func modelTask(argv []string, env map[string]string) structs.Task {
	q := make([]string, len(argv))
	for i, w := range argv {
		q[i] = shellQuote(w)
	}
	return structs.Task{Script: `cd "$NAI_MODEL_DIR" && exec ` + strings.Join(q, " "), Env: env}
}

// shellQuote quotes a word for bash unless it needs none.
func shellQuote(w string) string {
	safe := w != ""
	for _, c := range w {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_./=:,+@%", c)) {
			safe = false
			break
		}
	}
	if safe {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

func (s *Server) serviceUpdate(r *request) (any, uint64, error) {
	var req structs.ServiceUpdateRequest
	if err := decodeBody(r.Request, &req); err != nil {
		return nil, 0, err
	}
	name := r.PathValue("name")
	j, err := serviceFor(r, r.snap, nil, name, acl.Write)
	if err != nil {
		return nil, 0, err
	}
	r.audit = "service " + name + " (job " + j.ID + ")"
	if req.Replicas == nil && req.Model == "" {
		return nil, 0, structs.NewError(structs.CodeInvalid, `nothing to change: give "replicas" (1 to %d) or "model" (NAME:VERSION)`, structs.MaxReplicas)
	}
	if req.Timeout < 0 || req.Timeout.D() > structs.MaxRolloutTimeout {
		return nil, 0, structs.NewError(structs.CodeInvalid, "rollout timeout %s is out of range: expected up to %s", req.Timeout, structs.MaxRolloutTimeout)
	}
	now := time.Now().UTC()
	out := &structs.ServiceResponse{JobID: j.ID, Name: name, Version: j.Version}
	if req.Replicas != nil {
		n := *req.Replicas
		if n < 1 || n > structs.MaxReplicas {
			return nil, 0, structs.NewError(structs.CodeInvalid, "replicas %d is out of range: expected 1 to %d (stop a service with `nai service stop %s`)", n, structs.MaxReplicas, name)
		}
		_, idx, err := s.apply(fsm.ServiceScale, &structs.ServiceScaleRequest{JobID: j.ID, Replicas: n, Now: now})
		if err != nil {
			return nil, 0, err
		}
		out.Index = idx
	}
	if req.Model != "" {
		mname, mver, err := structs.ParseArtifactRef(req.Model)
		if err != nil {
			return nil, 0, structs.NewError(structs.CodeInvalid, "model %q: %v", req.Model, err)
		}
		v, err := modelVersion(r, mname, mver)
		if err != nil {
			return nil, 0, err
		}
		rev := structs.RevisionOf(j)
		rev.Models = []structs.ArtifactRef{{Name: mname, Version: fmt.Sprint(v.Version)}}
		// The new version's serve command, unless the service runs a
		// command of its own (given at serve time, or now).
		fromModel := j.Service.ModelCommand
		if len(req.Command) > 0 || fromModel {
			argv, fm, err := serveCommand(mname, v, req.Command)
			if err != nil {
				return nil, 0, err
			}
			rev.Task = modelTask(argv, j.Task.Env)
			fromModel = fm
			if err := checkTaskSizes(rev.Task); err != nil {
				return nil, 0, structs.NewError(structs.CodeInvalid, "service %q: %v", name, err)
			}
		}
		timeout := req.Timeout.D()
		if timeout == 0 {
			timeout = structs.DefaultRolloutTimeout
		}
		resp, idx, err := s.apply(fsm.ServiceRollout, &structs.ServiceRolloutRequest{
			JobID: j.ID, Revision: rev, ModelCommand: fromModel, Deadline: now.Add(timeout), Now: now,
		})
		if err != nil {
			return nil, 0, err
		}
		if sr, ok := resp.(*structs.ServiceResponse); ok {
			out.Version = sr.Version
		}
		out.Index = idx
	}
	return out, out.Index, nil
}

func (s *Server) serviceStop(r *request) (any, uint64, error) {
	name := r.PathValue("name")
	j, err := serviceFor(r, r.snap, nil, name, acl.Manage)
	if err != nil {
		return nil, 0, err
	}
	r.audit = "service " + name + " (job " + j.ID + ")"
	_, idx, err := s.apply(fsm.JobCancel, &structs.JobCancelRequest{JobIDs: []string{j.ID}, Reason: structs.ExitCancelled, Now: time.Now().UTC()})
	if err != nil {
		return nil, 0, err
	}
	return &structs.ServiceResponse{JobID: j.ID, Name: name, Version: j.Version, Index: idx}, idx, nil
}

// serviceCall is the gateway's route: the door has admitted anyone (the
// route is public); a service that is not public needs a token with
// reader rights on its group. The path below the service's goes on as it
// came, escaped.
func (s *Server) serviceCall(w http.ResponseWriter, r *request) error {
	name := r.PathValue("name")
	svc := s.gateway.Lookup(name)
	if svc == nil {
		// The table follows state a moment behind: a service just made is
		// in the caller's snapshot first, and is judged from it.
		j, err := r.snap.ServiceByName(nil, name)
		if err != nil {
			return err
		}
		if j == nil {
			return structs.NewError(structs.CodeNotFound, "no service named %q runs (see `nai service list`)", name)
		}
		svc = &gateway.Service{Name: j.Name, JobID: j.ID, User: j.User, Group: j.Group, Public: j.Service != nil && j.Service.Public}
	}
	if !svc.Public {
		if err := r.acl.Check(acl.User); err != nil {
			return err
		}
		if err := r.acl.CheckJob(svc.JobID, svc.User, svc.Group, acl.Read); err != nil {
			return serviceRefusal(r, &structs.Job{Name: name, User: svc.User, Group: svc.Group}, err)
		}
	}
	s.gateway.Forward(w, r.Request, svc, servicePath(r.URL.EscapedPath()))
	return nil
}

// servicePath is what follows /v1/services/NAME in an escaped path: "/"
// and the rest.
func servicePath(escaped string) string {
	rest := strings.TrimPrefix(escaped, "/v1/services/")
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[i:]
	}
	return "/"
}

// checkTaskSizes bounds a service's task as a submission's is
// (Job.CheckSubmit, whose other checks a service's task does not need).
func checkTaskSizes(t structs.Task) error {
	return (&structs.Job{Task: t}).CheckSubmit()
}

// serviceNameFree refuses a service whose name a running service the
// caller may not read already has, saying only that the name is taken:
// the state store's refusal names that service's job, which is none of
// the caller's business. Names the caller may read are left to it.
func serviceNameFree(r *request, j *structs.Job) error {
	if !j.IsService() {
		return nil
	}
	old, err := r.snap.ServiceByName(nil, j.Name)
	if err != nil {
		return err
	}
	if old != nil && !r.acl.CanSeeJob(old.User, old.Group) {
		return structs.NewError(structs.CodeConflict, "the service name %q is taken: choose another name", j.Name)
	}
	return nil
}
