package structs

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// sweepMembers builds n members as the job file parser does: args and
// the name depend on the member's value, everything else is shared.
func sweepMembers(n int, vary func(j *Job, i int)) []*Job {
	var out []*Job
	for i := range n {
		j := &Job{Name: "lr-sweep", User: "alice", Queue: "default", Priority: 50,
			Labels:    map[string]string{"team": "vision"},
			Resources: Resources{CPU: 2, MemoryBytes: 4 << 30, Nodes: 1, GPU: GPURequest{Count: 1}},
			Task: Task{Command: "python3", Args: []string{"train.py", "--lr", fmt.Sprint(i)},
				Env: map[string]string{"EPOCHS": "3"}, Script: ""}}
		if vary != nil {
			vary(j, i)
		}
		j.SetSweepMember(i, n, 2, map[string]string{"lr": fmt.Sprint(i)})
		out = append(out, j)
	}
	return out
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A sweep written as one spec and read back expands to the same members,
// through JSON as the API and the raft log carry it.
func TestSweepSpecRoundTrip(t *testing.T) {
	tests := []struct {
		name        string
		vary        func(j *Job, i int)
		wantChanged []string // of member 1
	}{
		{name: "args only", wantChanged: []string{"task.args"}},
		{name: "name and env", vary: func(j *Job, i int) {
			j.Name = fmt.Sprintf("lr-%d", i)
			j.Task.Env["SEED"] = fmt.Sprint(i * 7)
		}, wantChanged: []string{"name", "task.args", "task.env"}},
		{name: "resources and script", vary: func(j *Job, i int) {
			j.Resources.GPU.Count = 1 + i%2
			j.Task.Args = nil
			j.Task.Command = ""
			j.Task.Script = fmt.Sprintf("echo %d\n", i%2)
		}, wantChanged: []string{"resources", "task.script"}},
		{name: "identical members", vary: func(j *Job, i int) { j.Task.Args = nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			members := sweepMembers(5, tc.vary)
			spec, err := NewSweepSpec(members)
			if err != nil {
				t.Fatal(err)
			}
			if got := spec.Members[1].Changed; !slices.Equal(got, tc.wantChanged) {
				t.Errorf("member 1 changed %v, want %v", got, tc.wantChanged)
			}
			if env := spec.Template.Task.Env; env[SweepEnvPrefix+"LR"] != "" {
				t.Errorf("the template keeps member 0's NAI_SWEEP_LR: %v", env)
			}
			var wire SweepSpec
			if err := json.Unmarshal([]byte(jsonOf(t, spec)), &wire); err != nil {
				t.Fatal(err)
			}
			got, err := wire.Expand()
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(members) {
				t.Fatalf("%d members, want %d", len(got), len(members))
			}
			for i := range members {
				if a, b := jsonOf(t, got[i]), jsonOf(t, members[i]); a != b {
					t.Errorf("member %d:\n got %s\nwant %s", i, a, b)
				}
			}
		})
	}
}

// Members share what they do not change: a thousand members of a sweep
// that varies one argument hold one copy of the rest.
func TestSweepSpecShares(t *testing.T) {
	members := sweepMembers(3, func(j *Job, i int) { j.Task.Script = strings.Repeat("x", 4096) + "\n"; j.Task.Command = "" })
	spec, err := NewSweepSpec(members)
	if err != nil {
		t.Fatal(err)
	}
	got, err := spec.Expand()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%p", got[1].Labels) != fmt.Sprintf("%p", got[2].Labels) {
		t.Error("members 1 and 2 have their own labels map")
	}
	if got[1].Task.Env["NAI_SWEEP_LR"] != "1" || got[2].Task.Env["NAI_SWEEP_LR"] != "2" {
		t.Errorf("env of the members: %v, %v", got[1].Task.Env, got[2].Task.Env)
	}
	if got[0].Task.Env["EPOCHS"] != "3" {
		t.Errorf("member 0 lost the file's env: %v", got[0].Task.Env)
	}
}

// A spec that names a field no job file sets, or none at all, is refused.
func TestSweepSpecCheck(t *testing.T) {
	base := func() *SweepSpec {
		s, err := NewSweepSpec(sweepMembers(2, nil))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name string
		edit func(s *SweepSpec)
		want string
	}{
		{"no template", func(s *SweepSpec) { s.Template = nil }, "no template"},
		{"no members", func(s *SweepSpec) { s.Members = nil }, "no member"},
		{"a state field", func(s *SweepSpec) { s.Members[1].Changed = append(s.Members[1].Changed, "status") }, `"status"`},
		{"the id", func(s *SweepSpec) { s.Members[1].Changed = []string{"id"} }, `"id"`},
		{"changes missing", func(s *SweepSpec) { s.Members[1].Changes = nil }, "no changes"},
		{"no values", func(s *SweepSpec) { s.Members[0].Values = nil }, "no values"},
		{"too many", func(s *SweepSpec) {}, "limit is 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.edit(s)
			limit := 10
			if tc.name == "too many" {
				limit = 1
			}
			err := s.Check(limit)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %s", err, tc.want)
			}
		})
	}
}

// BenchmarkNewSweepSpec1000 writes a 1000-member sweep whose members differ
// in an argument as one spec, as `nai job run` does before sending it.
//
// 2 shared cores, load ~1.4: 1.4-1.6 ms, 1.1 MB, 4k allocs. The same
// comparison by reflect.DeepEqual took 3.9-4.2 ms on these members (and
// ~16 ms on parsed ones under load, by the profile). With each
// member holding its own changes rather than a new Job filled by
// reflection, side by side at load ~12, CPU time per op: 3.4-3.5 -> 2.5
// ms, 1.1 MB -> 66 KB, 4k -> 2k allocs. (nai job run compares fewer
// fields: see jobspec's BenchmarkSweepSpec1000.)
func BenchmarkNewSweepSpec1000(b *testing.B) {
	members := sweepMembers(1000, nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewSweepSpec(members); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSweepSpecJSON1000 encodes that spec as the API client sends it.
// SweepSpec.MarshalJSON writing the members in one pass: 16k -> 45 allocs,
// 725 -> 670 KB (time: see jobspec's BenchmarkSweepSpec1000).
func BenchmarkSweepSpecJSON1000(b *testing.B) {
	spec, err := NewSweepSpec(sweepMembers(1000, nil))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(map[string]any{"sweep": spec}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSweepSpecMarshalJSON1000 is SweepSpec.MarshalJSON alone, as the
// API client sends a sweep and the leader writes its raft entry.
//
// Each member's changes written by a layout made once for the members that
// change the same fields, side by side with the commit before, -cpu 1,
// load ~2: 0.94-1.21 -> 0.79-0.84 ms, 563 -> 514 KB. What is left is
// mostly the strings' checks for escapes and the values maps' iteration.
func BenchmarkSweepSpecMarshalJSON1000(b *testing.B) {
	spec, err := NewSweepSpec(sweepMembers(1000, nil))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := spec.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}

// appendJSON writes what encoding/json writes, byte for byte.
func TestAppendJSON(t *testing.T) {
	for _, v := range []any{
		"", "plain", `quote " and \ back`, "<html> & co", "tab\tnew\nline", "ünïcödé", "bad \xff utf-8", "\u2028",
		[]string(nil), []string{}, []string{"a", "<b>", "\x00"},
		map[string]string(nil), map[string]string{}, map[string]string{"b": "2", "a": "<1>", "é": "x"},
		42, []int{1, 2}, Resources{CPU: 1.5},
	} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendJSON(nil, v)
		if err != nil || string(got) != string(want) {
			t.Errorf("%#v: appendJSON %s (%v), json.Marshal %s", v, got, err, want)
		}
	}
}

// equalValues agrees with reflect.DeepEqual on the fields of jobs.
func TestEqualValues(t *testing.T) {
	a := sweepMembers(1, nil)[0]
	edits := []func(j *Job){
		func(j *Job) {},
		func(j *Job) { j.Labels = nil },
		func(j *Job) { j.Labels = map[string]string{} },
		func(j *Job) { j.Labels = map[string]string{"team": "nlp"} },
		func(j *Job) { j.Task.Args = nil },
		func(j *Job) { j.Task.Args = []string{} },
		func(j *Job) { j.Task.Args = append([]string(nil), j.Task.Args...) },
		func(j *Job) { j.Resources.GPU.Count = 3 },
		func(j *Job) { j.Retry = &RetryPolicy{Attempts: 1} },
		func(j *Job) { j.Datasets = []ArtifactRef{{Name: "d", Version: "1"}} },
		func(j *Job) { j.TimeLimit = Duration(time.Hour) },
	}
	for i, ea := range edits {
		for k, eb := range edits {
			x, y := a.Copy(), a.Copy()
			ea(x)
			eb(y)
			xv, yv := reflect.ValueOf(x).Elem(), reflect.ValueOf(y).Elem()
			for f := range xv.NumField() {
				if got, want := equalValues(xv.Field(f), yv.Field(f)), reflect.DeepEqual(xv.Field(f).Interface(), yv.Field(f).Interface()); got != want {
					t.Errorf("edits %d and %d, field %s: equalValues %v, DeepEqual %v", i, k, xv.Type().Field(f).Name, got, want)
				}
			}
		}
	}
}

// ValidName and validEnvKey are the regexps they replace.
func TestNameCheckers(t *testing.T) {
	nameRE := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	envRE := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	for _, s := range []string{"", "a", "A9", "9a", "_a", ".a", "-a", "a.b_c-d", "a b", "a\n", "ä", "a/b", "a$", "LR_0", "lr-0", "0", strings.Repeat("x", MaxNameLen), strings.Repeat("x", MaxNameLen+1)} {
		if got, want := ValidName(s), len(s) <= MaxNameLen && nameRE.MatchString(s); got != want {
			t.Errorf("ValidName(%q) = %v, the regexp says %v", s, got, want)
		}
		if got, want := validEnvKey(s), envRE.MatchString(s); got != want {
			t.Errorf("validEnvKey(%q) = %v, the regexp says %v", s, got, want)
		}
	}
}

// oldMemberJSON is SweepMember.MarshalJSON as it was written before
// SweepSpec had its own: the reference its bytes are compared with.
func oldMemberJSON(m SweepMember) ([]byte, error) {
	b, err := json.Marshal(m.Values)
	if err != nil {
		return nil, err
	}
	b = append([]byte(`{"values":`), b...)
	if len(m.Changed) == 0 {
		return append(b, '}'), nil
	}
	c, err := json.Marshal(m.Changed)
	if err != nil {
		return nil, err
	}
	b = append(append(b, `,"changed":`...), c...)
	if m.Changes == nil {
		return append(b, '}'), nil
	}
	fields := sweepFields()
	cv := reflect.ValueOf(m.Changes).Elem()
	var top, task []byte
	for _, name := range m.Changed {
		f, ok := fields[name]
		if !ok {
			continue
		}
		key, dst := name, &top
		if k, ok := strings.CutPrefix(name, "task."); ok {
			key, dst = k, &task
		}
		if len(*dst) > 0 {
			*dst = append(*dst, ',')
		}
		v, err := json.Marshal(cv.FieldByIndex(f.index).Interface())
		if err != nil {
			return nil, err
		}
		*dst = append(append(append(*dst, fmt.Sprintf("%q", key)...), ':'), v...)
	}
	if len(task) > 0 {
		if len(top) > 0 {
			top = append(top, ',')
		}
		top = append(append(append(top, `"task":{`...), task...), '}')
	}
	b = append(append(append(b, `,"changes":{`...), top...), '}')
	return append(b, '}'), nil
}

// oldSpecJSON is encoding/json's own encoding of a spec with members
// written by oldMemberJSON.
func oldSpecJSON(t *testing.T, s *SweepSpec) string {
	t.Helper()
	var members []json.RawMessage
	if s.Members != nil {
		members = []json.RawMessage{}
		for _, m := range s.Members {
			b, err := oldMemberJSON(m)
			if err != nil {
				t.Fatal(err)
			}
			members = append(members, b)
		}
	}
	b, err := json.Marshal(struct {
		Template    *Job              `json:"template"`
		Members     []json.RawMessage `json:"members"`
		MaxParallel int               `json:"max_parallel,omitempty"`
	}{s.Template, members, s.MaxParallel})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A spec encodes byte for byte as encoding/json encoded it member by
// member, and NewSweepSpecFields told the fields that vary writes the
// same spec as NewSweepSpec comparing them all.
func TestSweepSpecJSON(t *testing.T) {
	tests := []struct {
		name   string
		vary   func(j *Job, i int)
		fields []string
	}{
		{"args only", nil, []string{"task.args"}},
		{"name, env and escapes", func(j *Job, i int) {
			j.Name = fmt.Sprintf("lr-%d", i)
			j.Task.Env["SEED"] = fmt.Sprintf("<%d> & \"q\"", i*7)
			j.Description = "ünï \u2028"
		}, []string{"name", "task.args", "description", "task.env"}},
		{"resources, script, time and retry", func(j *Job, i int) {
			j.Resources.GPU.Count = 1 + i%2
			j.Task.Args = nil
			j.Task.Command = ""
			j.Task.Script = fmt.Sprintf("echo %d\n", i%2)
			j.TimeLimit = Duration(time.Duration(i) * time.Minute)
			j.Retry = &RetryPolicy{Attempts: i}
			j.DependsOn = []Dependency{{Type: AfterOK, JobID: fmt.Sprint(i)}}
		}, []string{"resources", "task.script", "task.args", "task.command", "time_limit", "retry", "depends_on"}},
		{"identical members", func(j *Job, i int) { j.Task.Args = nil }, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			members := sweepMembers(4, tc.vary)
			spec, err := NewSweepSpec(members)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := jsonOf(t, spec), oldSpecJSON(t, spec); got != want {
				t.Errorf("spec JSON differs:\n got %s\nwant %s", got, want)
			}
			fast, err := NewSweepSpecFields(members, tc.fields)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := jsonOf(t, fast), jsonOf(t, spec); got != want {
				t.Errorf("NewSweepSpecFields:\n got %s\nwant %s", got, want)
			}
		})
	}
	odd := []*SweepSpec{
		{},
		{Template: &Job{Name: "t"}, Members: []SweepMember{}},
		{Template: &Job{Name: "t"}, MaxParallel: 3, Members: []SweepMember{
			{Values: map[string]string{"a": "1", "b": "<2>", "c": "3", "d": "4", "e": "5", "f": "6", "g": "7", "h": "8", "i": "9", "j": "10"}},
			{Values: nil, Changed: []string{"queue", "task.env"}},
			{Values: map[string]string{}, Changed: []string{"task.env", "queue", "bogus"}, Changes: &Job{Queue: "q", Task: Task{Env: map[string]string{"X": "&"}}}},
			{Values: map[string]string{"x": "y"}, Changed: []string{"bogus"}, Changes: &Job{}},
			{Values: map[string]string{"x": "y"}, Changed: []string{"task.args", "task.workdir"}, Changes: &Job{Task: Task{Workdir: "/w"}}},
		}},
		// The layout of one member's changes is kept for the next ones
		// that name the same fields (in the same order), and made anew
		// for any other list.
		{Template: &Job{Name: "t"}, Members: []SweepMember{
			{Values: map[string]string{"i": "0"}, Changed: []string{"task.args", "name"}, Changes: &Job{Name: "a", Task: Task{Args: []string{"0"}}}},
			{Values: map[string]string{"i": "1"}, Changed: []string{"task.args", "name"}, Changes: &Job{Name: "b", Task: Task{Args: []string{"1"}}}},
			{Values: map[string]string{"i": "2"}, Changed: []string{"name", "task.args"}, Changes: &Job{Name: "c", Task: Task{Args: []string{"2"}}}},
			{Values: map[string]string{"i": "3"}, Changed: []string{"task.args"}, Changes: &Job{Task: Task{Args: []string{"3"}}}},
			{Values: map[string]string{"i": "4"}},
			{Values: map[string]string{"i": "5"}, Changed: []string{"task.args"}, Changes: &Job{Task: Task{Args: nil}}},
			{Values: map[string]string{"i": "6"}, Changed: []string{"task.args", "name"}},
			{Values: map[string]string{"i": "7"}, Changed: []string{"task.args", "name"}, Changes: &Job{Name: "<h>", Task: Task{Args: []string{}}}},
		}},
	}
	for i, s := range odd {
		if got, want := jsonOf(t, s), oldSpecJSON(t, s); got != want {
			t.Errorf("odd spec %d:\n got %s\nwant %s", i, got, want)
		}
		for j, m := range s.Members {
			b, err := json.Marshal(m)
			want, _ := oldMemberJSON(m)
			if err != nil || string(b) != string(want) {
				t.Errorf("odd spec %d member %d: %s (%v), want %s", i, j, b, err, want)
			}
		}
	}
}

// ExpandValid is Expand with each member made ready to store: its own
// copy of what the store changes in place, canonicalized, and Validate's
// answer for it. A sweep large enough to be made by several goroutines
// gives the same members and answers as one made member by member.
func TestSweepSpecExpandValid(t *testing.T) {
	for _, n := range []int{3, 4*expandChunk + 7} {
		jobs := sweepMembers(n, func(j *Job, i int) {
			j.Priority = 0 // Canonicalize's default
			j.Type, j.Service = JobService, &ServiceSpec{}
			j.Datasets = []ArtifactRef{{Name: "imagenet", Version: "latest"}}
			if i%(n/2) == 1 {
				j.Resources.CPU = -1
			}
		})
		spec, err := NewSweepSpec(jobs)
		if err != nil {
			t.Fatal(err)
		}
		got, invalid, err := spec.ExpandValid()
		if err != nil {
			t.Fatal(err)
		}
		want, err := spec.Expand()
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range want {
			g := got[i]
			if g.Service == spec.Template.Service || (i > 0 && g.Service == got[0].Service) || &g.Datasets[0] == &spec.Template.Datasets[0] {
				t.Fatalf("member %d shares its service or datasets with the template or member 0", i)
			}
			w = w.Copy()
			w.Canonicalize()
			if !reflect.DeepEqual(g, w) {
				t.Fatalf("n=%d member %d: %+v, want %+v", n, i, g, w)
			}
			wantErr := w.Validate()
			if (wantErr == nil) != (invalid == nil || invalid[i] == nil) || (wantErr != nil && invalid[i].Error() != wantErr.Error()) {
				t.Errorf("n=%d member %d: invalid %v, Validate says %v", n, i, invalid, wantErr)
			}
		}
		if spec.Template.Priority != 0 || spec.Template.Service.Port != "" {
			t.Errorf("ExpandValid changed the template: %+v", spec.Template)
		}
	}
	valid, err := NewSweepSpec(sweepMembers(3, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, invalid, err := valid.ExpandValid(); err != nil || invalid != nil {
		t.Errorf("a valid sweep: invalid %v, err %v; want nil, nil", invalid, err)
	}
}

// Prepare does ExpandValid ahead: the next ExpandValid returns those very
// jobs, equal to a fresh expansion, and the one after expands anew.
func TestSweepSpecPrepare(t *testing.T) {
	spec, err := NewSweepSpec(sweepMembers(3, nil))
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := spec.ExpandValid()
	if err != nil {
		t.Fatal(err)
	}
	spec.Prepare()
	got, _, err := spec.ExpandValid()
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("prepared %v, %v; want %v", got, err, want)
	}
	again, _, err := spec.ExpandValid()
	if err != nil || !reflect.DeepEqual(again, want) || &again[0] == &got[0] || again[0] == got[0] {
		t.Fatalf("the second ExpandValid after Prepare returned the prepared jobs again")
	}
	bad := &SweepSpec{}
	bad.Prepare()
	if _, _, err := bad.ExpandValid(); err == nil {
		t.Fatal("a prepared empty spec expanded without an error")
	}
}
