package archtest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// lean lists the packages that small binaries are built from, each with
// the packages whose dependencies are all it may depend on, transitively,
// outside the standard library: packages of the module by their path below
// it, others by their import path. The import table above only sees direct
// imports of the module's packages; this sees the whole graph, so an
// import that would fatten such a binary (api, client, an HCL parser, a
// third-party library) fails here, with the chain of imports that pulls it
// in.
var lean = map[string][]string{
	// The binary the agent starts for each job: the executor alone.
	"cmd/nai-executor": {"client/executor"},
	// The executor and the exec shim start once per job: no containerd,
	// protobuf, cilium/ebpf, runtime-spec, godbus or logrus (package
	// cgroups links those to create cgroups; the executor only uses them).
	"client/executor": {"cgroups/cgroupfs", "structs", "golang.org/x/sys/unix"},
	// Its base: listed too, so a dependency added to it fails here rather
	// than pass as one of the executor's allowed bases.
	"cgroups/cgroupfs": {"structs", "golang.org/x/sys/unix"},
}

func TestLeanDeps(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list dependencies: %v", err)
	}
	root := moduleRoot(t)
	for _, pkg := range sortedKeys(lean) {
		t.Run(pkg, func(t *testing.T) {
			var bases []string
			for _, b := range lean[pkg] {
				bases = append(bases, importPath(b))
			}
			allowed := map[string]bool{}
			for p := range listDeps(t, goCmd, root, bases...) {
				allowed[p] = true
			}
			graph := listDeps(t, goCmd, root, importPath(pkg))
			if len(graph) == 0 {
				t.Fatalf("go list found nothing for %s", pkg)
			}
			for _, chain := range outside(graph, importPath(pkg), allowed) {
				t.Errorf("%s pulls in what %s do not: %s",
					pkg, strings.Join(lean[pkg], ", "), strings.ReplaceAll(chain, module+"/", ""))
			}
		})
	}
}

// importPath turns a package of the module, given by its path below the
// module, into its import path; other paths (their first element has a
// dot) are import paths already.
func importPath(p string) string {
	first, _, _ := strings.Cut(p, "/")
	if strings.Contains(first, ".") {
		return p
	}
	return module + "/" + p
}

// listDeps returns the packages outside the standard library that pkgs
// are built from (pkgs included), each with what it imports.
func listDeps(t *testing.T, goCmd, dir string, pkgs ...string) map[string][]string {
	t.Helper()
	args := append([]string{"list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{range .Imports}} {{.}}{{end}}{{end}}"}, pkgs...)
	cmd := exec.Command(goCmd, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	graph := map[string][]string{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 {
			graph[f[0]] = f[1:]
		}
	}
	return graph
}

// outside returns, for every package of graph that is neither root nor
// allowed, the shortest chain of imports from root to it
// ("a -> b -> c"), sorted.
func outside(graph map[string][]string, root string, allowed map[string]bool) []string {
	from := map[string]string{root: ""}
	queue := []string{root}
	var bad []string
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p != root && !allowed[p] {
			chain := []string{p}
			for q := from[p]; q != ""; q = from[q] {
				chain = append(chain, q)
			}
			slices.Reverse(chain)
			bad = append(bad, strings.Join(chain, " -> "))
		}
		imports := slices.Clone(graph[p])
		slices.Sort(imports)
		for _, q := range imports {
			if _, seen := from[q]; seen {
				continue
			}
			if _, listed := graph[q]; !listed {
				continue // the standard library
			}
			from[q] = p
			queue = append(queue, q)
		}
	}
	slices.Sort(bad)
	return bad
}

// The checker itself: a package outside the allowed set is reported with
// the shortest chain that pulls it in; the standard library and the
// allowed set are not.
func TestLeanDepsReport(t *testing.T) {
	graph := map[string][]string{
		"m/exec":     {"os", "m/cgroups", "m/helper"},
		"m/cgroups":  {"m/structs", "x.org/unix"},
		"m/structs":  {"time"},
		"x.org/unix": {"syscall"},
		"m/helper":   {"m/api", "m/structs"},
		"m/api":      {"net/http", "m/structs", "y.org/hcl"},
		"y.org/hcl":  {"fmt"},
	}
	allowed := map[string]bool{"m/cgroups": true, "m/structs": true, "x.org/unix": true}
	want := []string{
		"m/exec -> m/helper",
		"m/exec -> m/helper -> m/api",
		"m/exec -> m/helper -> m/api -> y.org/hcl",
	}
	if got := outside(graph, "m/exec", allowed); !slices.Equal(got, want) {
		t.Errorf("reported:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	delete(graph, "m/helper")
	graph["m/exec"] = []string{"os", "m/cgroups"}
	if got := outside(graph, "m/exec", allowed); len(got) != 0 {
		t.Errorf("a lean graph reported: %v", got)
	}
}
