package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nai-project/nai/acl"
	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

// The access matrix: every route of the table, called by every kind of
// caller the rules tell apart, must answer as the rules say, and a refused
// write must change nothing. A route added to the table without a case
// here fails TestRouteTable.

// callers, in the order the matrix tries them.
var callers = []string{
	"none", "unknown", "expired", "revoked", // no usable credential
	"stranger", "reader", "member", "admin", "owner", // users (owner: u1, who owns the fixtures)
	"operator", "management", "nodetoken", "node", "server",
}

// fixture is a server with ACLs on, users in every relation to a job, a
// dataset and a model of user u1 in group "vision", and a token for each
// caller.
type aclFixture struct {
	s             *Server
	base          string
	secrets       map[string]string // caller -> secret ("" for none)
	jobID         string
	artifact      string // the dataset, model and plugin ("digits")
	digest        string
	ownerAccessor string
	uploadID      string
}

// as is an API client of the fixture with the token of caller ("owner",
// "reader", "operator", ...).
func (f *aclFixture) as(t testing.TB, caller string) *api.Client {
	t.Helper()
	cl, err := api.New(api.Config{Address: f.base, Token: f.secrets[caller], IgnoreEnv: true})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// pendingJob registers, as owner (the fixture's owner), a job of group
// vision that asks for more GPUs than any node has, so it stays pending;
// it answers the job's id and a getter of the job as it is now.
func (f *aclFixture) pendingJob(t *testing.T, owner *api.Client) (string, func() *structs.Job) {
	t.Helper()
	big := gpuJob("big", 64)
	big.User, big.Group = "", "vision"
	r, err := owner.Register(context.Background(), big)
	if err != nil {
		t.Fatal(err)
	}
	id := r.JobIDs[0]
	return id, func() *structs.Job {
		t.Helper()
		j, _, err := owner.Job(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
}

func newACLFixture(t testing.TB, opts ...func(*Config)) *aclFixture {
	t.Helper()
	s, anon := testServer(t, t.TempDir(), append([]func(*Config){func(c *Config) {
		c.ACL.Enabled = true
		c.Audit.FlushInterval = time.Hour // no audit writes in the middle of a comparison
	}}, opts...)...)
	ctx := context.Background()
	boot, err := anon.ACLBootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := &aclFixture{s: s, base: anon.Address(), artifact: "digits", secrets: map[string]string{"none": "", "unknown": "not-a-real-token-at-all"}}
	mgmt := anon.WithToken(boot.SecretID)
	f.secrets["management"] = boot.SecretID
	users := map[string]string{"owner": "u1", "stranger": "u2", "reader": "u3", "member": "u4", "admin": "u5", "operator": "op"}
	for _, u := range []string{"u1", "u2", "u3", "u4", "u5", "op"} {
		if _, err := mgmt.CreateUser(ctx, &structs.User{Name: u}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := mgmt.CreateGroup(ctx, &structs.Group{Name: "vision", Members: []structs.GroupMember{
		{User: "u1", Role: structs.RoleMember}, {User: "u3", Role: structs.RoleReader},
		{User: "u4", Role: structs.RoleMember}, {User: "u5", Role: structs.RoleAdmin},
	}}); err != nil {
		t.Fatal(err)
	}
	for caller, u := range users {
		spec := &structs.TokenCreateSpec{User: u, Name: caller}
		if caller == "operator" {
			spec.Policies = []string{structs.PolicyOperator}
		}
		tok, err := mgmt.CreateToken(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		f.secrets[caller] = tok.SecretID
		if caller == "owner" {
			f.ownerAccessor = tok.AccessorID
		}
	}
	nt, err := mgmt.CreateToken(ctx, &structs.TokenCreateSpec{Policies: []string{structs.PolicyNode}, Name: "gpu-hosts"})
	if err != nil {
		t.Fatal(err)
	}
	f.secrets["nodetoken"] = nt.SecretID
	rv, err := mgmt.CreateToken(ctx, &structs.TokenCreateSpec{User: "u1", Name: "revoked"})
	if err != nil {
		t.Fatal(err)
	}
	if err := mgmt.RevokeToken(ctx, rv.AccessorID); err != nil {
		t.Fatal(err)
	}
	f.secrets["revoked"] = rv.SecretID
	// An expired token can only be made by writing it with a past expiry.
	expired := "expired-secret-0123456789abcdefghij"
	if _, _, err := s.apply(fsm.TokenCreate, &structs.TokenCreateRequest{Now: time.Now(), Token: &structs.Token{
		AccessorID: "expired-accessor", SecretHash: hashSecret(expired), User: "u1", ExpirationTime: time.Now().Add(-time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	f.secrets["expired"] = expired
	// A node, registered with the node token.
	nodeSecret := "node-secret-0123456789abcdefghijklmn"
	if err := anon.WithToken(nt.SecretID).RegisterNode(ctx, testNode("n1", 4), nodeSecret); err != nil {
		t.Fatal(err)
	}
	f.secrets["node"] = nodeSecret
	f.secrets["server"] = s.ServerSecret()
	if f.secrets["server"] == "" {
		t.Fatal("the leader made no server secret")
	}
	// u1's job, dataset and model in group vision.
	owner := anon.WithToken(f.secrets["owner"])
	j := gpuJob("train", 1)
	j.User, j.Group = "", "vision"
	resp, err := owner.Register(ctx, j)
	if err != nil {
		t.Fatal(err)
	}
	f.jobID = resp.JobIDs[0]
	info, err := owner.UploadBlob(ctx, strings.NewReader("some dataset bytes"))
	if err != nil {
		t.Fatal(err)
	}
	f.digest = info.Digest
	for _, kind := range []structs.ArtifactKind{structs.KindDataset, structs.KindModel, structs.KindPlugin} {
		req := &structs.ArtifactPushRequest{Digest: f.digest, Group: "vision"}
		if kind == structs.KindPlugin {
			req.Plugin = &structs.PluginSpec{Name: "digits", Version: "1.0.0", Kind: structs.PluginJob}
		}
		if _, err := owner.PushArtifact(ctx, kind, "digits", req); err != nil {
			t.Fatal(err)
		}
	}
	// u1's service "vision" of model digits: its replica never becomes
	// healthy (the fixture's node runs nothing), so calls through the
	// gateway pass the door and get 503.
	svc, err := owner.Serve(ctx, &structs.ServeRequest{Model: "digits", Name: "vision", Group: "vision", Command: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the scheduler says why the service waits", func() bool {
		j, _, err := owner.Job(ctx, svc.JobID)
		return err == nil && j.Reason != ""
	})
	up, err := owner.StartUpload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.uploadID = up.ID
	waitUntil(t, "the job is placed", func() bool {
		j, _, err := owner.Job(ctx, f.jobID)
		return err == nil && j.Status == structs.JobRunning
	})
	return f
}

// routeCase says how to call one route and who may.
type routeCase struct {
	// allowed are the callers that pass the door and the handler's
	// access checks; every other caller gets 401 or 403, but those in
	// hidden.
	allowed []string
	// hidden are the callers that pass the door but may not even see the
	// route's job, dataset, model or plugin: they are answered as for one
	// that does not exist, in the same words (a 403 would tell them it
	// exists).
	hidden []string
	// body builds the request body (nil: none).
	body func(f *aclFixture, caller string) []byte
	// query is added to the URL.
	query string
}

// byCap is who passes a capability alone.
func byCap(c acl.Capability) []string {
	switch c {
	case acl.Public:
		return callers
	case acl.Authenticated:
		return []string{"stranger", "reader", "member", "admin", "owner", "operator", "management", "nodetoken", "node", "server"}
	case acl.User:
		return []string{"stranger", "reader", "member", "admin", "owner", "operator", "management", "nodetoken", "server"}
	case acl.OperatorRead, acl.OperatorWrite:
		return []string{"operator", "management", "server"}
	case acl.ACLWrite:
		return []string{"management", "server"}
	case acl.NodeRegister:
		return []string{"management", "nodetoken", "node", "server"}
	case acl.Client:
		return []string{"management", "node", "server"}
	case acl.Server:
		return []string{"server"}
	}
	return nil
}

func jsonBody(s string) func(*aclFixture, string) []byte {
	return func(*aclFixture, string) []byte { return []byte(s) }
}

var (
	jobReaders    = []string{"owner", "reader", "member", "admin", "operator", "management", "server"}
	jobDataReader = []string{"owner", "reader", "member", "admin", "management", "server"}
	jobManagers   = []string{"owner", "admin", "management", "server"}
	groupReaders  = []string{"owner", "reader", "member", "admin", "management", "server"}
	groupWriters  = []string{"owner", "member", "admin"}
	groupAdmins   = []string{"admin", "management", "server"}
	submitters    = []string{"stranger", "reader", "member", "admin", "owner", "operator", "management", "nodetoken", "server"}
	seeAll        = []string{"operator", "management", "server"}
	// groupWriters2: writers of the group's models, and the cluster's
	// own (serving a model and changing a service of the group).
	groupWriters2 = []string{"owner", "member", "admin", "management", "server"}
)

// unseen are the callers that pass the door of a user's route but may
// not see the fixture's job, dataset, model or plugin (the operator sees
// every job, and every artifact version through the blob list).
var unseen = []string{"stranger", "nodetoken"}

func jobSpec(string) string {
	return `{"job": {"name": "m", "resources": {"cpu": 0.1, "memory_bytes": 1048576}, "task": {"command": "true"}}}`
}

// routeCases holds a case for every route of the table, by pattern.
func routeCases() map[string]routeCase {
	submit := func(f *aclFixture, caller string) []byte { return []byte(jobSpec(caller)) }
	return map[string]routeCase{
		"PUT /v1/jobs":                  {allowed: submitters, body: submit},
		"POST /v1/jobs":                 {allowed: submitters, body: submit},
		"POST /v1/jobs/plan":            {allowed: submitters, body: submit},
		"GET /v1/jobs":                  {allowed: byCap(acl.User)},
		"GET /v1/jobs/{id}":             {allowed: jobReaders, hidden: unseen},
		"DELETE /v1/jobs/{id}":          {allowed: jobManagers, hidden: unseen},
		"GET /v1/jobs/{id}/allocations": {allowed: jobReaders, hidden: unseen},
		"GET /v1/jobs/{id}/logs":        {allowed: jobDataReader, hidden: unseen},
		"GET /v1/jobs/{id}/outputs":     {allowed: jobDataReader, hidden: unseen},
		"GET /v1/jobs/{id}/metrics":     {allowed: jobDataReader, hidden: unseen},
		"GET /v1/jobs/{id}/priority":    {allowed: jobReaders, hidden: unseen},
		"GET /v1/queue":                 {allowed: byCap(acl.User)},
		"GET /v1/queue/priority":        {allowed: byCap(acl.User)},

		"GET /v1/nodes":                   {allowed: byCap(acl.User)},
		"GET /v1/nodes/{id}":              {allowed: byCap(acl.User)},
		"POST /v1/nodes/{id}/drain":       {allowed: byCap(acl.OperatorWrite), body: jsonBody(`{"enable": false}`)},
		"POST /v1/nodes/{id}/eligibility": {allowed: byCap(acl.OperatorWrite), body: jsonBody(`{"eligible": true}`)},

		"GET /v1/queues":                  {allowed: byCap(acl.User)},
		"GET /v1/queues/{name}":           {allowed: byCap(acl.User)},
		"PUT /v1/queues/{name}":           {allowed: byCap(acl.OperatorWrite), body: jsonBody(`{"priority": 3}`)},
		"DELETE /v1/queues/{name}":        {allowed: byCap(acl.OperatorWrite)},
		"GET /v1/share":                   {allowed: byCap(acl.User)},
		"GET /v1/shares":                  {allowed: byCap(acl.User)},
		"PUT /v1/shares":                  {allowed: byCap(acl.OperatorWrite), body: jsonBody(`{"kind": "group", "name": "vision", "shares": 2}`)},
		"DELETE /v1/shares/{kind}/{name}": {allowed: byCap(acl.OperatorWrite)},
		"GET /v1/quotas":                  {allowed: byCap(acl.User)},
		"PUT /v1/quotas":                  {allowed: byCap(acl.OperatorWrite), body: jsonBody(`{"kind": "group", "name": "vision", "max_gpus": 8}`)},
		"DELETE /v1/quotas/{kind}/{name}": {allowed: byCap(acl.OperatorWrite)},
		"PUT /v1/blobs":                   {allowed: byCap(acl.Authenticated), body: jsonBody("more bytes")},
		"HEAD /v1/blobs/{digest}":         {allowed: byCap(acl.Authenticated)},
		"GET /v1/blobs/{digest}":          {allowed: byCap(acl.Client)},
		"POST /v1/blobs/uploads":          {allowed: byCap(acl.User)},
		"GET /v1/blobs/uploads/{id}":      {allowed: byCap(acl.User)},
		"PATCH /v1/blobs/uploads/{id}":    {allowed: byCap(acl.User)},
		"PUT /v1/blobs/uploads/{id}":      {allowed: byCap(acl.User)},
		"DELETE /v1/blobs/uploads/{id}":   {allowed: byCap(acl.User)},
		"GET /v1/operator/blobs":          {allowed: byCap(acl.OperatorRead)},
		"GET /v1/operator/uploads/{user}": {allowed: byCap(acl.Server)},
		"PUT /v1/operator/blobs/{digest}/holders": {allowed: byCap(acl.Server), body: func(f *aclFixture, _ string) []byte {
			return []byte(fmt.Sprintf(`{"digest": %q, "size": 18, "server": "test"}`, f.digest))
		}},
		"DELETE /v1/operator/blobs/{digest}/holders/{server}": {allowed: byCap(acl.Server)},

		"GET /v1/status/leader":               {allowed: byCap(acl.Public)},
		"GET /v1/status/peers":                {allowed: byCap(acl.Public)},
		"GET /v1/agent/health":                {allowed: byCap(acl.Public)},
		"GET /v1/agent/self":                  {allowed: byCap(acl.Authenticated)},
		"GET /v1/agent/members":               {allowed: byCap(acl.Authenticated)},
		"PUT /v1/agent/force-leave":           {allowed: byCap(acl.OperatorWrite), query: "node=nobody"},
		"GET /v1/operator/raft/configuration": {allowed: byCap(acl.OperatorRead)},
		"DELETE /v1/operator/raft/peer":       {allowed: byCap(acl.OperatorWrite), query: "id=nobody"},
		"GET /v1/operator/audit":              {allowed: byCap(acl.OperatorRead)},
		"GET /v1/usage":                       {allowed: byCap(acl.User)},
		"GET /v1/metrics":                     {allowed: byCap(acl.OperatorRead)},
		"GET /ui/":                            {allowed: byCap(acl.Public)},
		"GET /v1/jobs/{id}/hcl":               {allowed: jobReaders, hidden: unseen},
		"GET /v1/operator/snapshot":           {allowed: byCap(acl.ACLWrite)},
		"PUT /v1/operator/snapshot":           {allowed: byCap(acl.ACLWrite), body: jsonBody("not a snapshot")},
		"GET /v1/agent/raft":                  {allowed: byCap(acl.OperatorRead)},
		"POST /v1/operator/audit":             {allowed: byCap(acl.Server), body: jsonBody(`{"events": []}`)},

		"PUT /v1/client/nodes": {allowed: []string{"management", "nodetoken", "node", "server"}, body: func(f *aclFixture, caller string) []byte {
			return []byte(`{"node": {"id": "n1", "name": "node-n1", "http_addr": "http://127.0.0.1:1", "cpu": 16, "memory_bytes": 68719476736}, "secret_id": "node-secret-0123456789abcdefghijklmn"}`)
		}},
		"GET /v1/client/nodes/{id}/allocations":     {allowed: byCap(acl.Client)},
		"POST /v1/client/nodes/{id}/disk-recovered": {allowed: byCap(acl.Client)},
		"POST /v1/client/allocations":               {allowed: byCap(acl.Client), body: jsonBody(`{"node_id": "n1", "updates": []}`)},
		"PUT /v1/client/allocations/{id}/outputs":   {allowed: byCap(acl.Client), body: jsonBody("archive")},

		// Datasets and models alike.
		"PUT /v1/datasets/{name}": {allowed: groupWriters, body: func(f *aclFixture, _ string) []byte {
			return []byte(fmt.Sprintf(`{"digest": %q}`, f.digest))
		}},
		"GET /v1/datasets":                                   {allowed: byCap(acl.User)},
		"GET /v1/datasets/{name}":                            {allowed: groupReaders, hidden: unseen},
		"GET /v1/datasets/{name}/versions/{version}/content": {allowed: groupReaders, hidden: unseen},
		"DELETE /v1/datasets/{name}/versions/{version}":      {allowed: groupAdmins, hidden: unseen},
		"PUT /v1/models/{name}": {allowed: groupWriters, body: func(f *aclFixture, _ string) []byte {
			return []byte(fmt.Sprintf(`{"digest": %q}`, f.digest))
		}},
		"GET /v1/models":        {allowed: byCap(acl.User)},
		"GET /v1/models/{name}": {allowed: groupReaders, hidden: unseen},
		"GET /v1/models/{name}/versions/{version}/content": {allowed: groupReaders, hidden: unseen},
		"DELETE /v1/models/{name}/versions/{version}":      {allowed: groupAdmins, hidden: unseen},
		"PUT /v1/plugins/{name}": {allowed: groupWriters, body: func(f *aclFixture, _ string) []byte {
			return []byte(fmt.Sprintf(`{"digest": %q, "plugin": {"name": "digits", "version": "1.0.0", "kind": "job"}}`, f.digest))
		}},
		"GET /v1/plugins":        {allowed: byCap(acl.User)},
		"GET /v1/plugins/{name}": {allowed: groupReaders, hidden: unseen},
		"GET /v1/plugins/{name}/versions/{version}/content": {allowed: groupReaders, hidden: unseen},
		"DELETE /v1/plugins/{name}/versions/{version}":      {allowed: groupAdmins, hidden: unseen},

		"GET /v1/services": {allowed: byCap(acl.User)},
		"POST /v1/services": {allowed: groupWriters2, hidden: unseen, body: func(f *aclFixture, caller string) []byte {
			return []byte(fmt.Sprintf(`{"model": %q, "name": "s-%s", "group": "vision", "command": ["true"]}`, f.artifact, caller))
		}},
		"GET /v1/services/{name}":       {allowed: jobReaders},
		"POST /v1/services/{name}":      {allowed: groupWriters2, body: jsonBody(`{"replicas": 1}`)},
		"DELETE /v1/services/{name}":    {allowed: jobManagers},
		"/v1/services/{name}/{rest...}": {allowed: jobReaders},

		"POST /v1/acl/bootstrap":                      {allowed: byCap(acl.Public)},
		"GET /v1/acl/token/self":                      {allowed: byCap(acl.User)},
		"GET /v1/acl/tokens":                          {allowed: byCap(acl.User)},
		"POST /v1/acl/tokens":                         {allowed: []string{"stranger", "management", "server"}, body: jsonBody(`{"user": "u2"}`)},
		"GET /v1/acl/tokens/{accessor}":               {allowed: []string{"owner", "management", "server"}},
		"DELETE /v1/acl/tokens/{accessor}":            {allowed: []string{"owner", "management", "server"}},
		"GET /v1/acl/users":                           {allowed: byCap(acl.User)},
		"POST /v1/acl/users":                          {allowed: byCap(acl.ACLWrite), body: jsonBody(`{"name": "u9"}`)},
		"GET /v1/acl/users/{name}":                    {allowed: []string{"owner", "operator", "management", "server"}},
		"PUT /v1/acl/users/{name}":                    {allowed: byCap(acl.ACLWrite), body: jsonBody(`{"unix_account": "nobody"}`)},
		"DELETE /v1/acl/users/{name}":                 {allowed: byCap(acl.ACLWrite)},
		"GET /v1/acl/groups":                          {allowed: byCap(acl.User)},
		"POST /v1/acl/groups":                         {allowed: byCap(acl.ACLWrite), body: jsonBody(`{"name": "nlp"}`)},
		"GET /v1/acl/groups/{name}":                   {allowed: append([]string{"reader", "member", "admin", "owner"}, seeAll...)},
		"DELETE /v1/acl/groups/{name}":                {allowed: byCap(acl.ACLWrite)},
		"PUT /v1/acl/groups/{name}/members/{user}":    {allowed: groupAdmins, body: jsonBody(`{"role": "reader"}`)},
		"DELETE /v1/acl/groups/{name}/members/{user}": {allowed: groupAdmins},

		// Hold and release: the managers of the job, and operators (whose
		// holds are admin holds). The fixture's job runs: those allowed
		// get a conflict (only pending jobs are held), nothing changed.
		"POST /v1/jobs/hold": {allowed: append([]string{"operator"}, jobManagers...), hidden: unseen, body: func(f *aclFixture, _ string) []byte {
			return []byte(`{"targets": [{"id": "` + f.jobID + `"}]}`)
		}},
		"POST /v1/jobs/release": {allowed: append([]string{"operator"}, jobManagers...), hidden: unseen, body: func(f *aclFixture, _ string) []byte {
			return []byte(`{"targets": [{"id": "` + f.jobID + `"}]}`)
		}},

		// Update: the managers of the job. The fixture's job runs: those
		// allowed get a conflict (only pending jobs are updated).
		"POST /v1/jobs/update": {allowed: jobManagers, hidden: unseen, body: func(f *aclFixture, _ string) []byte {
			return []byte(`{"targets": [{"id": "` + f.jobID + `"}], "update": {"time_limit": "10m"}}`)
		}},

		// Bulk cancel (issue 16): the managers of the job, as for DELETE;
		// to those that may not see it, the job is one of the targets
		// that name nothing (200, "not_found").
		"POST /v1/jobs/cancel": {allowed: jobManagers, hidden: unseen, body: func(f *aclFixture, _ string) []byte {
			return []byte(`{"targets": [{"id": "` + f.jobID + `"}]}`)
		}},
	}
}

// pathFor fills a route's path parameters with the fixture's objects.
func (f *aclFixture) pathFor(rt route) string {
	p := rt.Path
	name := "vision"
	switch {
	case strings.HasPrefix(p, "/v1/queues/"):
		name = "default"
	case strings.HasPrefix(p, "/v1/datasets/"), strings.HasPrefix(p, "/v1/models/"), strings.HasPrefix(p, "/v1/plugins/"):
		name = f.artifact
	case strings.HasPrefix(p, "/v1/acl/users/"):
		name = "u1"
	}
	id := f.jobID
	switch {
	case strings.HasPrefix(p, "/v1/nodes/"), strings.HasPrefix(p, "/v1/client/nodes/"):
		id = "n1"
	case strings.HasPrefix(p, "/v1/blobs/uploads/"):
		id = f.uploadID
	case strings.HasPrefix(p, "/v1/client/allocations/"):
		id = f.jobID + ".1"
	}
	r := strings.NewReplacer("{id}", id, "{name}", name, "{version}", "1", "{digest}", f.digest,
		"{accessor}", f.ownerAccessor, "{user}", "u2", "{kind}", "group", "{server}", "test", "{rest...}", "predict")
	return r.Replace(p)
}

// stateDump is the persisted state without the audit log (which records
// refusals too) and the identity cache's effects.
func stateDump(t *testing.T, s *Server) string {
	t.Helper()
	var b bytes.Buffer
	if err := s.State().Persist(&b); err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.Contains(line, `"table":"audit"`) || strings.Contains(line, `"table":"audit","index"`) {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}

func TestRouteTable(t *testing.T) {
	s, _ := testServer(t, t.TempDir())
	cases := routeCases()
	seen := map[string]bool{}
	for _, rt := range s.routes() {
		if seen[rt.pattern()] {
			t.Errorf("route %s is declared twice", rt.pattern())
		}
		seen[rt.pattern()] = true
		if !slices.Contains(acl.Capabilities(), rt.Cap) {
			t.Errorf("route %s has no known capability (%q)", rt.pattern(), rt.Cap)
		}
		if (rt.handle == nil) == (rt.stream == nil) {
			t.Errorf("route %s needs exactly one of handle and stream", rt.pattern())
		}
		if rt.Doc == "" {
			t.Errorf("route %s has no Doc line (the API reference is made from them)", rt.pattern())
		}
		if _, ok := cases[rt.pattern()]; !ok {
			t.Errorf("route %s has no case in routeCases(): say who may call it", rt.pattern())
		}
	}
	for p := range cases {
		if !seen[p] {
			t.Errorf("routeCases() has %s, which is not in the route table", p)
		}
	}
}

// TestAccessMatrix calls every route as every caller.
func TestAccessMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server per route")
	}
	probe, _ := testServer(t, t.TempDir())
	cases := routeCases()
	routes := probe.routes()
	sort.Slice(routes, func(i, j int) bool { return routes[i].pattern() < routes[j].pattern() })
	for _, rt := range routes {
		tc, ok := cases[rt.pattern()]
		if !ok {
			continue // TestRouteTable says so
		}
		t.Run(strings.ReplaceAll(rt.pattern(), "/", "_"), func(t *testing.T) {
			f := newACLFixture(t)
			// Refused callers first: each must change nothing. Allowed
			// ones after, in the matrix's order, each passing the door.
			var refused, allowed []string
			for _, c := range callers {
				switch {
				case slices.Contains(tc.allowed, c):
					allowed = append(allowed, c)
				case !slices.Contains(tc.hidden, c):
					refused = append(refused, c)
				}
			}
			for _, c := range refused {
				before := stateDump(t, f.s)
				status, body := f.call(t, rt, tc, c)
				want := http.StatusForbidden
				switch c {
				case "none", "unknown", "expired", "revoked":
					want = http.StatusUnauthorized
				}
				if status != want {
					t.Errorf("%s: status %d, want %d: %s", c, status, want, body)
				}
				if d := cmp.Diff(before, stateDump(t, f.s)); d != "" {
					t.Errorf("%s: a refused request changed the state:\n%s", c, d)
				}
			}
			// Hidden: the same answer as for a job id and an artifact
			// name that nobody uses, and nothing changed.
			missing := *f
			missing.jobID, missing.artifact = "9999", "nosuch"
			for _, c := range tc.hidden {
				before := stateDump(t, f.s)
				status, body := f.call(t, rt, tc, c)
				wantStatus, wantBody := missing.call(t, rt, tc, c)
				wantBody = strings.NewReplacer(`9999`, f.jobID, `nosuch`, f.artifact).Replace(wantBody)
				if status != wantStatus || body != wantBody {
					t.Errorf("%s: answered %d %s, want as for nothing of that name: %d %s", c, status, body, wantStatus, wantBody)
				}
				if status == http.StatusForbidden || status == http.StatusUnauthorized {
					t.Errorf("%s: refused with %d, which says the object exists: %s", c, status, body)
				}
				if d := cmp.Diff(before, stateDump(t, f.s)); d != "" {
					t.Errorf("%s: a hidden request changed the state:\n%s", c, d)
				}
			}
			for _, c := range allowed {
				status, body := f.call(t, rt, tc, c)
				// 503: the route passed the door but needs what the
				// fixture lacks (a live node to read logs from).
				if status == http.StatusUnauthorized || status == http.StatusForbidden || (status >= 500 && status != http.StatusServiceUnavailable) {
					t.Errorf("%s: status %d, want it to pass: %s", c, status, body)
				}
			}
		})
	}
}

func (f *aclFixture) call(t *testing.T, rt route, tc routeCase, caller string) (int, string) {
	t.Helper()
	u := f.base + f.pathFor(rt)
	if tc.query != "" {
		u += "?" + tc.query
	}
	var body io.Reader
	var b []byte
	if tc.body != nil {
		b = tc.body(f, caller)
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, rt.Method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if rt.Method == "PATCH" {
		req.Header.Set("Content-Range", "bytes 0-3/*")
		req.Body = io.NopCloser(strings.NewReader("abcd"))
		req.ContentLength = 4
	}
	if rt.Path == "/v1/blobs/uploads/{id}" && rt.Method == "PUT" {
		sum := sha256.Sum256(nil)
		req.URL.RawQuery = "digest=" + hex.EncodeToString(sum[:])
	}
	if s := f.secrets[caller]; s != "" {
		req.Header.Set("Authorization", "Bearer "+s)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s as %s: %v", rt.Method, u, caller, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(out)
}

// TestDoorBadInput: credentials in the wrong place or shape.
func TestDoorBadInput(t *testing.T) {
	f := newACLFixture(t)
	tests := []struct {
		name, header, query string
		status              int
		want                string
	}{
		{"token in the query string", "", "token=" + "abc", http.StatusBadRequest, "token in the URL"},
		{"secret_id in the query string", "", "secret_id=abc", http.StatusBadRequest, "token in the URL"},
		{"basic auth", "Basic dTE6cGFzcw==", "", http.StatusUnauthorized, "malformed Authorization header"},
		{"bearer without a secret", "Bearer ", "", http.StatusUnauthorized, "malformed"},
		{"two words", "Bearer a b", "", http.StatusUnauthorized, "malformed"},
		{"the old user header alone", "", "", http.StatusUnauthorized, "needs a token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := f.base + "/v1/jobs"
			if tt.query != "" {
				u += "?" + tt.query
			}
			req, _ := http.NewRequest("GET", u, nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			req.Header.Set("X-Nai-User", "someone-else")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.want) {
				t.Errorf("status %d %s, want %d mentioning %q", resp.StatusCode, b, tt.status, tt.want)
			}
		})
	}
}

// TestListsShowOnlyWhatTheCallerMaySee: a stranger's lists are empty of
// u1's things; a reader's are not.
func TestListsShowOnlyWhatTheCallerMaySee(t *testing.T) {
	f := newACLFixture(t)
	ctx := context.Background()
	as := func(c string) *api.Client {
		cl, err := api.New(api.Config{Address: f.base, Token: f.secrets[c]})
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	for _, tc := range []struct {
		caller string
		sees   bool
	}{{"stranger", false}, {"reader", true}, {"operator", true}, {"owner", true}} {
		jobs, err := as(tc.caller).Jobs(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		q, err := as(tc.caller).Queue(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		ds, err := as(tc.caller).Artifacts(ctx, structs.KindDataset)
		if err != nil {
			t.Fatal(err)
		}
		// u1's two jobs: the training job and the service "vision".
		if got := len(jobs) == 2 && len(q) == 2; got != tc.sees {
			t.Errorf("%s sees %d jobs, %d in the queue; want seeing u1's two: %v", tc.caller, len(jobs), len(q), tc.sees)
		}
		wantDS := tc.sees && tc.caller != "operator" // datasets are the groups', not the operators'
		if got := len(ds) == 1; got != wantDS {
			t.Errorf("%s sees %d datasets, want seeing u1's: %v", tc.caller, len(ds), wantDS)
		}
	}
}

// TestIdentityCache: a revoked token stops working at once, though its
// identity was cached.
func TestIdentityCache(t *testing.T) {
	f := newACLFixture(t)
	ctx := context.Background()
	mgmt, _ := api.New(api.Config{Address: f.base, Token: f.secrets["management"]})
	owner, _ := api.New(api.Config{Address: f.base, Token: f.secrets["owner"]})
	if _, err := owner.Jobs(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := mgmt.RevokeToken(ctx, f.ownerAccessor); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Jobs(ctx, false); !api.IsUnauthorized(err) {
		t.Errorf("after revocation: %v, want unauthorized", err)
	}
	// Removing a member from a group takes its rights at once too.
	reader, _ := api.New(api.Config{Address: f.base, Token: f.secrets["reader"]})
	if _, _, err := reader.Job(ctx, f.jobID); err != nil {
		t.Fatal(err)
	}
	if err := mgmt.RemoveGroupMember(ctx, "vision", "u3"); err != nil {
		t.Fatal(err)
	}
	// (It may no longer see the job: to it, there is none.)
	if _, _, err := reader.Job(ctx, f.jobID); !api.IsNotFound(err) {
		t.Errorf("after removal from the group: %v, want not found", err)
	}
	_ = state.TableACL
}

// BenchmarkAuthorize measures the door's work on a request with a user's
// token: authentication (the cached identity), the route's capability and
// the object check on a job. Target: at most 0.2 ms (figures in BENCH.md).
func BenchmarkAuthorize(b *testing.B) {
	f := newACLFixture(b)
	rt := route{Method: "GET", Path: "/v1/jobs/{id}", Cap: acl.User}
	j, err := f.s.State().Snapshot().JobByID(nil, f.jobID)
	if err != nil || j == nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, cold bool) {
		for b.Loop() {
			if cold {
				f.s.idents.mu.Lock()
				f.s.idents.entries = map[string]identEntry{}
				f.s.idents.mu.Unlock()
			}
			r, _ := http.NewRequest("GET", "/v1/jobs/"+f.jobID, nil)
			r.Header.Set("Authorization", "Bearer "+f.secrets["reader"])
			req := &request{Request: r}
			if err := f.s.admit(req, rt); err != nil {
				b.Fatal(err)
			}
			if err := req.acl.CheckJob(j.ID, j.User, j.Group, acl.Read); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("cached", func(b *testing.B) { run(b, false) })
	b.Run("cold", func(b *testing.B) { run(b, true) })
}

// TestBootstrapReset follows the procedure of docs/operations.md: a second
// bootstrap is refused until the leader's reset file names the first one's
// index.
func TestBootstrapReset(t *testing.T) {
	s, c := testServer(t, t.TempDir(), func(c *Config) { c.ACL.Enabled = true })
	ctx := context.Background()
	first, err := c.ACLBootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ACLBootstrap(ctx)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("reset index %d", first.CreateIndex)) {
		t.Fatalf("second bootstrap: %v, want a refusal naming index %d", err, first.CreateIndex)
	}
	if err := os.WriteFile(s.cfg.ACL.BootstrapResetFile, []byte(fmt.Sprintf("%d\n", first.CreateIndex)), 0o600); err != nil {
		t.Fatal(err)
	}
	second, err := c.ACLBootstrap(ctx)
	if err != nil {
		t.Fatalf("bootstrap with the reset file: %v", err)
	}
	if _, err := c.WithToken(second.SecretID).TokenSelf(ctx); err != nil {
		t.Errorf("the new management token: %v", err)
	}
	if _, err := c.ACLBootstrap(ctx); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("the reset file %s on the leader", s.cfg.ACL.BootstrapResetFile)) ||
		!strings.Contains(err.Error(), fmt.Sprintf("was found but not used: the reset file names index %d, but the ACL bootstrap to reset is at index %d: write %d into it", first.CreateIndex, second.CreateIndex, second.CreateIndex)) {
		t.Errorf("the stale reset file: %v, want a refusal saying why the file was not used", err)
	}
	os.Remove(s.cfg.ACL.BootstrapResetFile)
	if _, err := c.ACLBootstrap(ctx); err == nil || !strings.Contains(err.Error(), "has no reset file at "+s.cfg.ACL.BootstrapResetFile) {
		t.Errorf("without a reset file: %v, want a refusal saying the leader has none", err)
	}
	if err := os.WriteFile(s.cfg.ACL.BootstrapResetFile, []byte("soon\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ACLBootstrap(ctx); err == nil || !strings.Contains(err.Error(), "expected the bootstrap index") {
		t.Errorf("a garbled reset file: %v", err)
	}
}

// TestACLBadInputAPI: the refusals of the identity API, through the door.
func TestACLBadInputAPI(t *testing.T) {
	f := newACLFixture(t)
	ctx := context.Background()
	mgmt, _ := api.New(api.Config{Address: f.base, Token: f.secrets["management"], IgnoreEnv: true})
	tokens, err := mgmt.Tokens(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var root string
	for _, tok := range tokens {
		if tok.HasPolicy(structs.PolicyManagement) {
			root = tok.AccessorID
		}
	}
	ops, _ := api.New(api.Config{Address: f.base, Token: f.secrets["operator"], IgnoreEnv: true})
	tests := []struct {
		name string
		do   func() error
		code structs.ErrorCode
		want string
	}{
		{"revoke the last management token", func() error { return mgmt.RevokeToken(ctx, root) }, structs.CodeConflict, "last management token"},
		{"an operator revokes the bootstrap token", func() error { return ops.RevokeToken(ctx, root) }, structs.CodeForbidden,
			"is a token of no user, with policies management; only management tokens act on it"},
		{"a user revokes another user's token", func() error { return ops.RevokeToken(ctx, f.ownerAccessor) }, structs.CodeForbidden, "belongs to another user"},
		{"a member of a missing group", func() error { return mgmt.SetGroupMember(ctx, "nlp", "u2", structs.RoleMember) }, structs.CodeNotFound, "group nlp not found"},
		{"remove a user with running jobs", func() error { return mgmt.DeleteUser(ctx, "u1", false) }, structs.CodeConflict, "-force"},
		{"a token for a missing user", func() error {
			_, err := mgmt.CreateToken(ctx, &structs.TokenCreateSpec{User: "nobody-here"})
			return err
		}, structs.CodeNotFound, "user nobody-here not found"},
		{"a token of an unknown policy", func() error {
			_, err := mgmt.CreateToken(ctx, &structs.TokenCreateSpec{Policies: []string{"root"}})
			return err
		}, structs.CodeInvalid, `policy "root" is unknown`},
		{"an unknown role", func() error { return mgmt.SetGroupMember(ctx, "vision", "u2", "owner") }, structs.CodeInvalid, "expected reader, member or admin"},
		{"a share of a missing group", func() error {
			_, err := mgmt.SetShare(ctx, &structs.Share{Kind: structs.AccountGroup, Name: "nlp", Shares: 2})
			return err
		}, structs.CodeNotFound, "group nlp not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := stateDump(t, f.s)
			err := tt.do()
			if err == nil || structs.CodeOf(err) != tt.code || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v (code %s), want %s mentioning %q", err, structs.CodeOf(err), tt.code, tt.want)
			}
			if d := cmp.Diff(before, stateDump(t, f.s)); d != "" {
				t.Errorf("a refused request changed the state:\n%s", d)
			}
		})
	}
	// With -force the user goes, and its running job is asked to stop.
	if err := mgmt.DeleteUser(ctx, "u1", true); err != nil {
		t.Fatal(err)
	}
	a, err := mgmt.JobAllocations(ctx, f.jobID)
	if err != nil || len(a) == 0 || a[len(a)-1].DesiredStatus != structs.DesiredStop {
		t.Errorf("u1's running job after rm -force: %+v, %v", a, err)
	}
}
