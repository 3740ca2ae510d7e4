package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/nai-project/nai"

// allowed lists, for every package of the module (by its path below the
// module), the packages of the module its non-test files may import. "*"
// allows anything the rules below do not forbid. A package missing here
// fails the test: add its row with the imports the design allows it.
var allowed = map[string][]string{
	// The domain types: imported by everyone, importing no one.
	"structs": {},
	// Pure layers over structs.
	"acl":        {"structs"},
	"api":        {"structs"},
	"jobspec":    {"structs", "internal/hclout", "internal/hclstruct", "internal/suggest"},
	"scheduler":  {"structs"},
	"membership": {"structs", "internal/gossipkey"},
	// Allocation cgroups: cgroupfs works on existing ones through their
	// files (the executor's); cgroups creates them with limits (the agent's).
	"cgroups/cgroupfs": {"structs"},
	"cgroups":          {"cgroups/cgroupfs"},
	"fsm/state":        {"structs"},
	"fsm":              {"fsm/state", "structs"},
	"sim":              {"scheduler", "structs"},
	// The servers: raft, serf, the API, the blob store.
	// (jobspec: the job of GET /v1/jobs/{id}/hcl; ui: the web UI's files.)
	// (gateway: the services' proxy, which every server runs.)
	"server": {"acl", "fsm", "fsm/state", "membership", "scheduler", "server/blobstore", "structs",
		"internal/tlsutil", "internal/snapshot", "internal/version", "internal/promtext", "internal/jobtext", "internal/suggest", "internal/metricline", "jobspec", "ui", "gateway"},
	"server/blobstore": {"structs"},
	// The services' gateway: a replica table and a reverse proxy.
	"gateway": {"structs"},
	// The GPU hosts: they talk to servers through the api package.
	"client":             {"api", "cgroups", "client/executor", "client/fingerprint", "internal/archive", "internal/version", "internal/promtext", "internal/metricline", "structs"},
	"client/fingerprint": {"structs"},
	// The per-job executor and exec shim: kept small (see lean below).
	"client/executor": {"cgroups/cgroupfs", "structs"},
	// The binaries (nai and nai-agent, one package) wire everything.
	"cmd/nai": {"*"},
	// The per-job binary: the executor and nothing else (see lean).
	"cmd/nai-executor": {"client/executor"},
	// Helpers shared by several packages.
	"internal/archive":   {},
	"internal/ignore":    {},
	"internal/gossipkey": {},
	"internal/version":   {},
	"internal/testtool":  {},
	"internal/builders":  {"structs"},
	"internal/archtest":  {},
	"internal/tlsutil":   {},
	"internal/snapshot":  {"structs"},
	// The Prometheus text exposition (metrics without client_golang).
	"internal/promtext": {},
	// Jobs as text in tables (the CLI's and GET /v1/queue?view=table).
	"internal/jobtext": {"structs"},
	// The lines of NAI_METRICS_FILE, NaN and Infinity allowed (client
	// and servers).
	"internal/metricline": {"structs"},
	// HCL out and in without hclwrite and gohcl (which link go-cmp into
	// the CLI binary): job files written, config files decoded.
	"internal/hclout":    {},
	"internal/hclstruct": {},
	// "Did you mean": the name a typo probably meant (CLI, job files,
	// servers).
	"internal/suggest": {},
	// The load generator of the gateway's benchmarks and `nai bench`.
	"internal/loadgen": {},
	// An idle agent's paging out of its binary's start-up pages.
	"internal/exepages": {},
	// The web UI's static files, embedded; it speaks only the public API.
	"ui": {},
	// The API reference, generated from the route tables (tests only).
	"docs": {},
	// Tests only.
	"e2e":     {},
	"contrib": {},
	// The floors of `make bench` (a raft, serf and HTTP server, a serf and
	// HTTP client): the libraries alone, nothing of nai but what an idle
	// agent does to its memory (internal/exepages), so the two are read alike.
	"bench/floor/server": {"internal/exepages"},
	"bench/floor/client": {"internal/exepages"},
}

// rule forbids imports that DESIGN.md rules out, in test files too.
type rule struct {
	from, to func(string) bool
	why      string
}

func is(pkgs ...string) func(string) bool {
	return func(p string) bool {
		for _, q := range pkgs {
			if p == q || strings.HasPrefix(p, q+"/") {
				return true
			}
		}
		return false
	}
}

func anything(string) bool { return true }

var rules = []rule{
	{anything, is("cmd"), "nothing imports cmd/: it is the top of the graph"},
	{is("structs"), anything, "structs imports nothing of the project"},
	{is("scheduler", "fsm"), is("server", "client"), "scheduler and fsm are pure: they never import server or client"},
	{is("acl"), func(p string) bool { return p != "structs" }, "acl is pure policy: it imports structs only"},
}

// testOnly packages may be imported only by tests.
var testOnly = []string{"internal/testtool", "internal/builders", "internal/archtest"}

type pkg struct {
	imports     map[string][]string // imported package -> files importing it
	testImports map[string][]string
}

// scan reads the imports of every Go file below root (the module), by
// directory, whatever its build tags.
func scan(t *testing.T, root string) map[string]*pkg {
	t.Helper()
	pkgs := map[string]*pkg{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor" ||
				name == "node_modules" || (filepath.Dir(path) == root && name == "bin")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		p := pkgs[rel]
		if p == nil {
			p = &pkg{imports: map[string][]string{}, testImports: map[string][]string{}}
			pkgs[rel] = p
		}
		into := p.imports
		if strings.HasSuffix(name, "_test.go") {
			into = p.testImports
		}
		for _, spec := range f.Imports {
			ip, _ := strconv.Unquote(spec.Path.Value)
			if ip == module {
				into["."] = append(into["."], name)
			} else if q, ok := strings.CutPrefix(ip, module+"/"); ok {
				into[q] = append(into[q], name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read the module's imports: %v", err)
	}
	return pkgs
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// check returns one line per broken rule, naming the file and the import.
func check(pkgs map[string]*pkg) []string {
	var bad []string
	for _, from := range sortedKeys(pkgs) {
		p := pkgs[from]
		allow, known := allowed[from]
		if !known {
			bad = append(bad, from+": has no row in the import table of internal/archtest/imports_test.go; add one with the imports DESIGN.md allows it")
		}
		for _, to := range sortedKeys(p.imports) {
			where := from + "/" + p.imports[to][0]
			if known && !slices.Contains(allow, "*") && !slices.Contains(allow, to) {
				bad = append(bad, where+": imports "+to+", which "+from+" may not (allowed: "+orNothing(allow)+")")
			}
			if slices.Contains(testOnly, to) {
				bad = append(bad, where+": imports "+to+", which only tests may import")
			}
		}
		for _, files := range []map[string][]string{p.imports, p.testImports} {
			for _, to := range sortedKeys(files) {
				for _, r := range rules {
					// An external test package may import its own package.
					if r.from(from) && r.to(to) && to != from {
						bad = append(bad, from+"/"+files[to][0]+": imports "+to+": "+r.why)
					}
				}
			}
		}
	}
	sort.Strings(bad)
	return slices.Compact(bad)
}

func orNothing(s []string) string {
	if len(s) == 0 {
		return "nothing of the project"
	}
	return strings.Join(s, ", ")
}

func TestImportRules(t *testing.T) {
	pkgs := scan(t, moduleRoot(t))
	for _, p := range []string{"structs", "server", "scheduler", "fsm", "cmd/nai"} {
		if pkgs[p] == nil {
			t.Fatalf("package %s not found: the scan read the wrong tree", p)
		}
	}
	for _, line := range check(pkgs) {
		t.Error(line)
	}
}

// The checker itself: each kind of broken rule is reported with the file
// and the import that break it.
func TestImportRulesReport(t *testing.T) {
	mk := func(imports, testImports map[string][]string) *pkg {
		if imports == nil {
			imports = map[string][]string{}
		}
		if testImports == nil {
			testImports = map[string][]string{}
		}
		return &pkg{imports: imports, testImports: testImports}
	}
	cases := []struct {
		name string
		pkgs map[string]*pkg
		want []string
	}{
		{"clean", map[string]*pkg{
			"structs": mk(nil, nil),
			"server":  mk(map[string][]string{"fsm": {"server.go"}}, map[string][]string{"api": {"server_test.go"}}),
		}, nil},
		{"structs importing", map[string]*pkg{"structs": mk(map[string][]string{"acl": {"job.go"}}, nil)}, []string{
			"structs/job.go: imports acl, which structs may not (allowed: nothing of the project)",
			"structs/job.go: imports acl: structs imports nothing of the project",
		}},
		{"scheduler test importing server", map[string]*pkg{"scheduler": mk(nil, map[string][]string{"server": {"x_test.go"}})}, []string{
			"scheduler/x_test.go: imports server: scheduler and fsm are pure: they never import server or client",
		}},
		{"server importing api", map[string]*pkg{"server": mk(map[string][]string{"api": {"agent.go"}}, nil)}, []string{
			"server/agent.go: imports api, which server may not (allowed: acl, fsm, fsm/state, membership, scheduler, server/blobstore, structs, internal/tlsutil, internal/snapshot, internal/version, internal/promtext, internal/jobtext, internal/suggest, internal/metricline, jobspec, ui, gateway)",
		}},
		{"cmd imported", map[string]*pkg{"e2e": mk(nil, map[string][]string{"cmd/nai": {"a_test.go"}})}, []string{
			"e2e/a_test.go: imports cmd/nai: nothing imports cmd/: it is the top of the graph",
		}},
		{"builders outside tests", map[string]*pkg{"cmd/nai": mk(map[string][]string{"internal/builders": {"main.go"}}, nil)}, []string{
			"cmd/nai/main.go: imports internal/builders, which only tests may import",
		}},
		{"new package", map[string]*pkg{"widgets": mk(nil, nil)}, []string{
			"widgets: has no row in the import table of internal/archtest/imports_test.go; add one with the imports DESIGN.md allows it",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := check(tc.pkgs)
			if !slices.Equal(got, tc.want) {
				t.Errorf("reported:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
