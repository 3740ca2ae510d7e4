package jobspec

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/nai-project/nai/structs"
	"github.com/zclconf/go-cty/cty"
)

// FormatHCL writes the spec of job as a job file that Parse reads back to
// the same job (`nai job inspect -hcl`). Values are written out literally,
// with sizes in exact units and sweep values already substituted. What a
// file cannot say is left in comments at the top: the job's id, owner and
// sweep membership. Its uploaded code is named by digest (code =
// "sha256:..."), so the file submits the same job again, code included.
func FormatHCL(job *structs.Job) []byte {
	x := fileExtras{}
	if job.Code != "" {
		x.code = CodeDigestPrefix + job.Code
	}
	f, _ := jobFile(job, x)
	return append(formatHeader(job), hclwrite.Format(f.Bytes())...)
}

// fileExtras are what a job file may say that a job does not hold.
type fileExtras struct {
	code       string // code = "..."
	beginAfter string // begin_after as a delay ("1h") rather than a time
}

// jobFile builds the job block of a job file; the caller may add to its
// body (the sweep block of a converted batch script).
func jobFile(job *structs.Job, x fileExtras) (*hclwrite.File, *hclwrite.Body) {
	f := hclwrite.NewEmptyFile()
	root := f.Body()
	jb := root.AppendNewBlock("job", []string{job.Name}).Body()

	if job.IsService() {
		setString(jb, "type", string(job.Type))
	}
	setString(jb, "queue", job.Queue)
	if job.Priority != 0 {
		jb.SetAttributeValue("priority", cty.NumberIntVal(int64(job.Priority)))
	}
	if job.TimeLimit > 0 {
		setString(jb, "time_limit", shortDuration(job.TimeLimit.D()))
	}
	switch {
	case x.beginAfter != "":
		setString(jb, "begin_after", x.beginAfter)
	case !job.BeginTime.IsZero():
		setString(jb, "begin_after", job.BeginTime.UTC().Format(time.RFC3339Nano))
	}
	if job.Preemptible && !job.IsService() {
		jb.SetAttributeValue("preemptible", cty.True)
	}
	setString(jb, "group", job.Group)
	setString(jb, "description", job.Description)
	if len(job.Labels) > 0 {
		jb.SetAttributeValue("labels", stringMapVal(job.Labels))
	}
	if len(job.DependsOn) > 0 {
		deps := make([]string, len(job.DependsOn))
		for i, d := range job.DependsOn {
			deps[i] = string(d.Type) + ":" + d.JobID
		}
		jb.SetAttributeValue("depends_on", stringListVal(deps))
	}
	if job.Singleton {
		jb.SetAttributeValue("singleton", cty.True)
	}
	setString(jb, "code", x.code)
	for _, a := range job.Datasets {
		artifactBlock(jb, "dataset", a)
	}
	for _, a := range job.Models {
		artifactBlock(jb, "model", a)
	}

	jb.AppendNewline()
	resourcesBlock(jb.AppendNewBlock("resources", nil).Body(), job.Resources)

	jb.AppendNewline()
	taskBlock(jb.AppendNewBlock("task", nil).Body(), job.Task)

	if r := job.Retry; r != nil {
		jb.AppendNewline()
		rb := jb.AppendNewBlock("retry", nil).Body()
		rb.SetAttributeValue("attempts", cty.NumberIntVal(int64(r.Attempts)))
		if len(r.On) > 0 {
			rb.SetAttributeValue("on", stringListVal(r.On))
		}
	}
	if o := job.Output; o != nil {
		jb.AppendNewline()
		ob := jb.AppendNewBlock("output", nil).Body()
		setString(ob, "model", o.Model)
		setString(ob, "dataset", o.Dataset)
		if len(o.Keep) > 0 {
			ob.SetAttributeValue("keep", stringListVal(o.Keep))
		}
		if len(o.Serve) > 0 {
			ob.SetAttributeValue("serve", stringListVal(o.Serve))
		}
	}
	if sv := job.Service; sv != nil && job.IsService() {
		jb.AppendNewline()
		serviceBlock(jb.AppendNewBlock("service", nil).Body(), sv, job.Preemptible)
	}
	if l := job.LogPaths; l != nil {
		jb.AppendNewline()
		lb := jb.AppendNewBlock("logs", nil).Body()
		setString(lb, "stdout", l.Stdout)
		setString(lb, "stderr", l.Stderr)
	}
	return f, jb
}

func serviceBlock(b *hclwrite.Body, s *structs.ServiceSpec, preemptible bool) {
	b.SetAttributeValue("replicas", cty.NumberIntVal(int64(s.Replicas)))
	setString(b, "port", s.Port)
	if s.UnhealthyAfter > 0 {
		b.SetAttributeValue("unhealthy_after", cty.NumberIntVal(int64(s.UnhealthyAfter)))
	}
	if s.Public {
		b.SetAttributeValue("public", cty.True)
	}
	if preemptible {
		b.SetAttributeValue("preemptible", cty.True)
	}
	if s.ShutdownDelay > 0 {
		setString(b, "shutdown_delay", shortDuration(s.ShutdownDelay.D()))
	}
	h := s.Health
	if h == (structs.HealthCheck{}) {
		return
	}
	hb := b.AppendNewBlock("health", nil).Body()
	setString(hb, "path", h.Path)
	for _, f := range []struct {
		name string
		v    structs.Duration
	}{{"interval", h.Interval}, {"timeout", h.Timeout}, {"grace", h.Grace}} {
		if f.v > 0 {
			setString(hb, f.name, shortDuration(f.v.D()))
		}
	}
}

// shortDuration drops the zero units Go writes at the end ("2h30m", not
// "2h30m0s").
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// formatHeader is the comment block for what a job file cannot hold.
func formatHeader(job *structs.Job) []byte {
	var b strings.Builder
	if job.ID != "" {
		fmt.Fprintf(&b, "# Job %s", job.ID)
		if job.User != "" {
			fmt.Fprintf(&b, ", owned by %s", oneLine(job.User))
		}
		b.WriteString(".\n")
	}
	if job.ArrayID != "" {
		fmt.Fprintf(&b, "# Member %d", job.ArrayIndex)
		if job.ArraySize > 0 {
			fmt.Fprintf(&b, " (of %d)", job.ArraySize)
		}
		fmt.Fprintf(&b, " of sweep %s", job.ArrayID)
		if len(job.SweepValues) > 0 {
			var kv []string
			for _, k := range slices.Sorted(maps.Keys(job.SweepValues)) {
				kv = append(kv, k+"="+job.SweepValues[k])
			}
			fmt.Fprintf(&b, " (%s)", oneLine(strings.Join(kv, ", ")))
		}
		if job.MaxParallel > 0 {
			fmt.Fprintf(&b, ", max_parallel %d", job.MaxParallel)
		}
		b.WriteString("; its values are written in below.\n")
	}
	if job.Code != "" {
		b.WriteString("# Its code is named by digest below; write code = \"./folder\" to upload a folder instead.\n")
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	return []byte(b.String())
}

// oneLine keeps a value from ending a comment early.
func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) }

func setString(b *hclwrite.Body, name, v string) {
	if v != "" {
		b.SetAttributeValue(name, cty.StringVal(v))
	}
}

func stringListVal(list []string) cty.Value {
	vals := make([]cty.Value, len(list))
	for i, s := range list {
		vals[i] = cty.StringVal(s)
	}
	return cty.TupleVal(vals)
}

// stringMapVal writes a map with its keys sorted, so output is stable.
func stringMapVal(m map[string]string) cty.Value {
	vals := make(map[string]cty.Value, len(m))
	for k, v := range m {
		vals[k] = cty.StringVal(v)
	}
	return cty.MapVal(vals) // cty iterates map keys in sorted order
}

func artifactBlock(b *hclwrite.Body, typ string, a structs.ArtifactRef) {
	ab := b.AppendNewBlock(typ, []string{a.Name}).Body()
	if a.Version == "" {
		return
	}
	if n, err := strconv.ParseInt(a.Version, 10, 64); err == nil && versionRE().MatchString(a.Version) {
		ab.SetAttributeValue("version", cty.NumberIntVal(n))
		return
	}
	ab.SetAttributeValue("version", cty.StringVal(a.Version))
}

func resourcesBlock(b *hclwrite.Body, r structs.Resources) {
	if r.CPU != 0 {
		b.SetAttributeValue("cpu", cty.NumberFloatVal(r.CPU))
	}
	if r.MemoryBytes != 0 {
		setString(b, "memory", exactSize(r.MemoryBytes))
	}
	if r.DiskBytes != 0 {
		setString(b, "disk", exactSize(r.DiskBytes))
	}
	if r.Nodes > 1 {
		b.SetAttributeValue("nodes", cty.NumberIntVal(int64(r.Nodes)))
	}
	if r.Exclusive {
		b.SetAttributeValue("exclusive", cty.True)
	}
	g := r.GPU
	if g == (structs.GPURequest{}) {
		return
	}
	gb := b.AppendNewBlock("gpu", nil).Body()
	gb.SetAttributeValue("count", cty.NumberIntVal(int64(g.Count)))
	setString(gb, "model", g.Model)
	if g.MemoryBytes != 0 {
		setString(gb, "memory", exactSize(g.MemoryBytes))
	}
}

// exactSize writes bytes in the largest unit that divides them exactly
// ("128GiB", "500GB", "1536MiB"), unlike structs.FormatSize, which rounds
// for people.
func exactSize(n int64) string {
	units := []struct {
		name string
		size int64
	}{
		{"TiB", 1 << 40}, {"TB", 1e12}, {"GiB", 1 << 30}, {"GB", 1e9},
		{"MiB", 1 << 20}, {"MB", 1e6}, {"KiB", 1 << 10}, {"kB", 1e3},
	}
	for _, u := range units {
		if n >= u.size && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

func taskBlock(b *hclwrite.Body, t structs.Task) {
	if t.NProcPerNode > 0 {
		b.SetAttributeValue("nproc_per_node", cty.NumberIntVal(int64(t.NProcPerNode)))
	}
	setString(b, "command", t.Command)
	if len(t.Args) > 0 {
		b.SetAttributeValue("args", stringListVal(t.Args))
	}
	if t.Script != "" {
		b.SetAttributeRaw("script", scriptTokens(t.Script))
	}
	if len(t.Env) > 0 {
		b.SetAttributeValue("env", stringMapVal(t.Env))
	}
	setString(b, "workdir", t.Workdir)
	setString(b, "user", t.User)
}

// scriptTokens writes a script as a heredoc when it can be one exactly (it
// ends with a newline and has no carriage returns), else as a quoted
// string. Template sequences are escapes in both ("$${", "%%{").
func scriptTokens(s string) hclwrite.Tokens {
	if !strings.HasSuffix(s, "\n") || strings.Contains(s, "\r") || !utf8.ValidString(s) {
		return hclwrite.TokensForValue(cty.StringVal(s))
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	delim := "EOT"
	for n := 1; slices.ContainsFunc(lines, func(l string) bool { return strings.TrimSpace(l) == delim }); n++ {
		delim = "EOT" + strconv.Itoa(n)
	}
	body := strings.NewReplacer("${", "$${", "%{", "%%{").Replace(s)
	return hclwrite.Tokens{
		{Type: hclsyntax.TokenOHeredoc, Bytes: []byte("<<" + delim + "\n")},
		{Type: hclsyntax.TokenStringLit, Bytes: []byte(body)},
		{Type: hclsyntax.TokenCHeredoc, Bytes: []byte(delim)},
	}
}
