package jobspec

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nai-project/nai/internal/hclout"
	"github.com/nai-project/nai/structs"
)

// FormatHCL writes the spec of job as a job file that Parse reads back to
// the same job (`nai job inspect -hcl`). Values are written out literally,
// with sizes in exact units and sweep values already substituted. What a
// file cannot say is left in comments at the top: the job's id, owner and
// sweep membership. Its uploaded code is named by digest (code =
// "sha256:..."), so the file submits the same job again, code included.
func FormatHCL(job *structs.Job) []byte {
	header := formatHeader(job)
	job = memberAlone(job)
	x := fileExtras{}
	if job.Code != "" {
		x.code = CodeDigestPrefix + job.Code
	}
	f, _ := jobFile(job, x)
	return append(header, f.Bytes()...)
}

// memberAlone is a member of an --array array as a job of its own: the
// task id the array gave it is written into its environment
// (SLURM_ARRAY_TASK_ID, which nodes set for an array's members only) and
// into its log paths' %a and %A, so that the file runs the member again.
func memberAlone(job *structs.Job) *structs.Job {
	task, ok := job.SweepValues[structs.ArrayTaskIDKey]
	if job.ArrayID == "" || !ok {
		return job
	}
	j := *job
	j.Task.Env = maps.Clone(job.Task.Env)
	if j.Task.Env == nil {
		j.Task.Env = map[string]string{}
	}
	j.Task.Env[structs.ArrayTaskIDKey] = task
	if l := job.LogPaths; l != nil {
		lp := *l
		lp.Stdout = expandArrayCodes(l.Stdout, job.ArrayID, task)
		lp.Stderr = expandArrayCodes(l.Stderr, job.ArrayID, task)
		j.LogPaths = &lp
	}
	return &j
}

// expandArrayCodes fills in %A and %a (with a width, %4a) as ExpandLogPath
// does, and leaves every other sequence, %% included, as it is.
func expandArrayCodes(p, arrayID, task string) string {
	return expandPercent(p, func(code byte, num func(string) string) (string, bool) {
		switch code {
		case 'A':
			return num(arrayID), true
		case 'a':
			return num(task), true
		}
		return "", false
	})
}

// fileExtras are what a job file may say that a job does not hold.
type fileExtras struct {
	code       string // code = "..."
	beginAfter string // begin_after as a delay ("1h") rather than a time
}

// jobFile builds the job block of a job file; the caller may add to its
// body (the sweep block of a converted batch script).
func jobFile(job *structs.Job, x fileExtras) (f, jb *hclout.Body) {
	f = &hclout.Body{}
	jb = f.Block("job", job.Name)

	if job.IsService() {
		setString(jb, "type", string(job.Type))
	}
	setString(jb, "queue", job.Queue)
	if job.Priority != 0 {
		jb.Set("priority", hclout.Int(int64(job.Priority)))
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
		jb.Set("preemptible", hclout.Bool(true))
	}
	setString(jb, "group", job.Group)
	setString(jb, "description", job.Description)
	if len(job.Labels) > 0 {
		jb.Set("labels", hclout.StringMap(job.Labels))
	}
	if len(job.DependsOn) > 0 {
		deps := make([]string, len(job.DependsOn))
		for i, d := range job.DependsOn {
			deps[i] = string(d.Type) + ":" + d.JobID
		}
		jb.Set("depends_on", hclout.Strings(deps))
	}
	if job.Singleton {
		jb.Set("singleton", hclout.Bool(true))
	}
	if job.Hold != nil {
		jb.Set("hold", hclout.Bool(true))
	}
	setString(jb, "code", x.code)
	for _, a := range job.Datasets {
		artifactBlock(jb, "dataset", a)
	}
	for _, a := range job.Models {
		artifactBlock(jb, "model", a)
	}

	jb.Blank()
	resourcesBlock(jb.Block("resources"), job.Resources)

	jb.Blank()
	taskBlock(jb.Block("task"), job.Task)

	if r := job.Retry; r != nil {
		jb.Blank()
		rb := jb.Block("retry")
		rb.Set("attempts", hclout.Int(int64(r.Attempts)))
		if len(r.On) > 0 {
			rb.Set("on", hclout.Strings(r.On))
		}
	}
	if o := job.Output; o != nil {
		jb.Blank()
		ob := jb.Block("output")
		setString(ob, "model", o.Model)
		setString(ob, "dataset", o.Dataset)
		if len(o.Keep) > 0 {
			ob.Set("keep", hclout.Strings(o.Keep))
		}
		if len(o.Serve) > 0 {
			ob.Set("serve", hclout.Strings(o.Serve))
		}
	}
	if sv := job.Service; sv != nil && job.IsService() {
		jb.Blank()
		serviceBlock(jb.Block("service"), sv, job.Preemptible)
	}
	if l := job.LogPaths; l != nil {
		jb.Blank()
		lb := jb.Block("logs")
		setString(lb, "stdout", l.Stdout)
		setString(lb, "stderr", l.Stderr)
	}
	return f, jb
}

func serviceBlock(b *hclout.Body, s *structs.ServiceSpec, preemptible bool) {
	b.Set("replicas", hclout.Int(int64(s.Replicas)))
	setString(b, "port", s.Port)
	if s.UnhealthyAfter > 0 {
		b.Set("unhealthy_after", hclout.Int(int64(s.UnhealthyAfter)))
	}
	if s.Public {
		b.Set("public", hclout.Bool(true))
	}
	if preemptible {
		b.Set("preemptible", hclout.Bool(true))
	}
	if s.ShutdownDelay > 0 {
		setString(b, "shutdown_delay", shortDuration(s.ShutdownDelay.D()))
	}
	h := s.Health
	if h == (structs.HealthCheck{}) {
		return
	}
	hb := b.Block("health")
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
	if _, ok := job.SweepValues[structs.ArrayTaskIDKey]; ok && job.ArrayID != "" {
		fmt.Fprintf(&b, "# Member %s", job.ArrayRef())
		if job.ArraySize > 0 {
			fmt.Fprintf(&b, " (of %d)", job.ArraySize)
		}
		fmt.Fprintf(&b, " of array %s", job.ArrayID)
		if job.MaxParallel > 0 {
			fmt.Fprintf(&b, ", max_parallel %d", job.MaxParallel)
		}
		b.WriteString("; its task id is written in below.\n")
	} else if job.ArrayID != "" {
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

func setString(b *hclout.Body, name, v string) {
	if v != "" {
		b.Set(name, hclout.String(v))
	}
}

func artifactBlock(b *hclout.Body, typ string, a structs.ArtifactRef) {
	ab := b.Block(typ, a.Name)
	if a.Version == "" {
		return
	}
	if n, err := strconv.ParseInt(a.Version, 10, 64); err == nil && versionRE().MatchString(a.Version) {
		ab.Set("version", hclout.Int(n))
		return
	}
	ab.Set("version", hclout.String(a.Version))
}

func resourcesBlock(b *hclout.Body, r structs.Resources) {
	if r.CPU != 0 {
		b.Set("cpu", hclout.Float(r.CPU))
	}
	if r.MemoryBytes != 0 {
		setString(b, "memory", exactSize(r.MemoryBytes))
	}
	if r.DiskBytes != 0 {
		setString(b, "disk", exactSize(r.DiskBytes))
	}
	if r.Nodes > 1 {
		b.Set("nodes", hclout.Int(int64(r.Nodes)))
	}
	if r.Exclusive {
		b.Set("exclusive", hclout.Bool(true))
	}
	g := r.GPU
	if g == (structs.GPURequest{}) {
		return
	}
	gb := b.Block("gpu")
	gb.Set("count", hclout.Int(int64(g.Count)))
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

func taskBlock(b *hclout.Body, t structs.Task) {
	if t.NProcPerNode > 0 {
		b.Set("nproc_per_node", hclout.Int(int64(t.NProcPerNode)))
	}
	setString(b, "command", t.Command)
	if len(t.Args) > 0 {
		b.Set("args", hclout.Strings(t.Args))
	}
	if t.Script != "" {
		b.Set("script", scriptExpr(t.Script))
	}
	if len(t.Env) > 0 {
		b.Set("env", hclout.StringMap(t.Env))
	}
	setString(b, "workdir", t.Workdir)
	setString(b, "user", t.User)
}

// scriptExpr writes a script as a heredoc when it can be one exactly,
// else as a quoted string.
func scriptExpr(s string) hclout.Expr {
	if e, ok := hclout.Heredoc(s); ok {
		return e
	}
	return hclout.String(s)
}
