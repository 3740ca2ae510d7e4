package docs

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nai-project/nai/acl"
	"github.com/nai-project/nai/client"
	"github.com/nai-project/nai/server"
)

var update = flag.Bool("update", false, "rewrite api.md from the route tables")

const apiFile = "api.md"

// capabilities says in words what each capability of the server's door
// asks of a caller (acl/acl.go).
var capabilities = map[acl.Capability]string{
	acl.Public:        "no token",
	acl.Authenticated: "any known caller: a token, a client node's secret or a server",
	acl.User:          "a token; the route then decides per job, dataset or model (owner, group role, operator) and filters lists to what the caller may see",
	acl.OperatorRead:  "a token of policy operator or management",
	acl.OperatorWrite: "a token of policy operator or management",
	acl.ACLWrite:      "a management token",
	acl.NodeRegister:  "a token of policy node (or management), or the node's own secret to refresh its registration",
	acl.Client:        "a client node's own secret (for itself) or a management token",
	acl.Server:        "the servers' shared secret: servers only",
}

// clientNeeds says the same of the client agent's door (client/door.go).
var clientNeeds = map[string]string{
	"job-data": "a token that may read the allocation's job data (its owner, its group, an operator); servers pass the user's token along",
	"operator": "a token of policy operator or management",
}

// sections names the groups of routes by the first segment of their path.
var sections = map[string]string{
	"jobs": "Jobs", "queue": "Jobs", "nodes": "Nodes", "queues": "Scheduling policy", "share": "Scheduling policy",
	"shares": "Scheduling policy", "quotas": "Scheduling policy", "datasets": "Datasets and models", "models": "Datasets and models",
	"artifacts": "Datasets and models", "blobs": "Blobs", "status": "The cluster", "agent": "The cluster", "operator": "Operating the cluster",
	"acl": "Identity and access", "client": "Client nodes (served by the servers)",
}

func section(path string) string {
	seg := strings.SplitN(strings.TrimPrefix(path, "/v1/"), "/", 2)[0]
	if s, ok := sections[seg]; ok {
		return s
	}
	return "/v1/" + seg
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// apiReference renders api.md from the route tables.
func apiReference(t *testing.T) string {
	var b strings.Builder
	b.WriteString(`# HTTP API reference

Generated from the route tables of the server (` + "`server/routes.go`" + ` and the
functions it appends) and of the client agent (` + "`client/door.go`" + `) by
` + "`go test ./docs -run TestAPIReference -update`" + `; a test fails when this file is
stale. Requests and answers are JSON with snake_case keys (the types of
` + "`structs/`" + `); an error is ` + "`{\"error\": {\"code\": ..., \"message\": ...}}`" + ` with a
fitting status (400 invalid, 401 unauthorized, 403 forbidden, 404, 409 conflict,
503 no leader). List and get routes answer with the state index in
` + "`X-Nai-Index`" + ` and take ` + "`?index=N&wait=30s`" + ` to block until it passes N; ` + "`?stale`" + `
reads the answering server's own state instead of the leader's.

A server that has not yet applied the raft log it held when it started, or
what the leader says is committed (it restarted, or was away), answers nothing
from that half-replayed state: a request waits up to 3 s for it, then gets 503
` + "`catching_up`" + ` ("applied 386 of 4041 raft entries"), and the API client tries
the next address. ` + "`/v1/status/`" + `, ` + "`/v1/agent/health`" + ` (503 ` + "`catching_up`" + ` for load
balancers), ` + "`/v1/agent/self`" + ` (which lists
the lag as a problem), ` + "`/v1/agent/members`" + `, ` + "`/v1/agent/raft`" + ` and
` + "`/v1/operator/raft/configuration`" + ` (they describe the server, not the state)
still answer.

Every request carries its token as ` + "`Authorization: Bearer <secret>`" + ` (never in the
URL). With ACLs off every route is open. Any server answers any route: writes
and consistent reads are forwarded to the raft leader; ` + "`/v1/agent/`" + `,
` + "`/v1/status/`" + ` and blob data are answered by the server asked.

## What the routes need

| needs | the caller must present |
| --- | --- |
`)
	for _, c := range acl.Capabilities() {
		desc, ok := capabilities[c]
		if !ok {
			t.Fatalf("capability %q has no description in docs/api_test.go: add one", c)
		}
		fmt.Fprintf(&b, "| `%s` | %s |\n", c, cell(desc))
	}

	var order []string
	bySection := map[string][]server.RouteInfo{}
	for _, r := range (&server.Server{}).RouteTable() {
		s := section(r.Path)
		if _, ok := bySection[s]; !ok {
			order = append(order, s)
		}
		bySection[s] = append(bySection[s], r)
	}
	for _, s := range order {
		fmt.Fprintf(&b, "\n## %s\n\n| method | path | needs | what it does |\n| --- | --- | --- | --- |\n", s)
		for _, r := range bySection[s] {
			if r.Doc == "" {
				t.Errorf("route %s %s has no Doc", r.Method, r.Path)
			}
			fmt.Fprintf(&b, "| %s | `%s` | `%s` | %s |\n", r.Method, r.Path, r.Cap, cell(r.Doc))
		}
	}

	b.WriteString(`
## The client agent

A client agent (a GPU host) serves these itself; its door asks the servers,
with the caller's token, whether the caller may. Every other ` + "`/v1/`" + ` path
a client-only agent receives is passed to a live server.

| needs | the caller must present |
| --- | --- |
`)
	needs := map[string]bool{}
	rows := (&client.Client{}).RouteTable()
	for _, r := range rows {
		needs[r[2]] = true
	}
	for _, n := range []string{"job-data", "operator"} {
		if needs[n] {
			fmt.Fprintf(&b, "| `%s` | %s |\n", n, cell(clientNeeds[n]))
			delete(needs, n)
		}
	}
	for n := range needs {
		t.Fatalf("client route need %q has no description in docs/api_test.go: add one", n)
	}
	b.WriteString("\n| method | path | needs | what it does |\n| --- | --- | --- | --- |\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | `%s` | `%s` | %s |\n", r[0], r[1], r[2], cell(r[3]))
	}
	return b.String()
}

func TestAPIReference(t *testing.T) {
	got := apiReference(t)
	if *update {
		if err := os.WriteFile(apiFile, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(apiFile)
	if err != nil {
		t.Fatalf("%v (run go test ./docs -run TestAPIReference -update)", err)
	}
	if d := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(got, "\n")); d != "" {
		t.Errorf("docs/api.md is stale: the route tables changed; refresh it with\n\tgo test ./docs -run TestAPIReference -update\n(-api.md +route tables):\n%s", d)
	}
}
