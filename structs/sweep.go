package structs

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// SweepEnvPrefix starts the variables that give a sweep member's values to
// its task: NAI_SWEEP_LR=0.1 for sweep.lr.
const SweepEnvPrefix = "NAI_SWEEP_"

// SweepEnvName is the variable that gives the sweep value key to the
// task: NAI_SWEEP_LR for lr.
func SweepEnvName(key string) string { return SweepEnvPrefix + strings.ToUpper(key) }

// SweepEnvNames maps each key of values to its SweepEnvName: made once
// for the members of a sweep, which share their keys.
func SweepEnvNames(values map[string]string) map[string]string {
	names := make(map[string]string, len(values))
	for k := range values {
		names[k] = SweepEnvName(k)
	}
	return names
}

// SetSweepMember makes j member i of n of a sweep with these values, each
// also in the task's environment as NAI_SWEEP_<NAME>. The environment is a
// new map: j may share its old one with other members.
func (j *Job) SetSweepMember(i, n, maxParallel int, values map[string]string) {
	j.SetSweepMemberNamed(i, n, maxParallel, values, nil)
}

// SetSweepMemberNamed is SetSweepMember with the variables' names taken
// from names (SweepEnvNames) where it has them, rather than made for
// every member: two allocations less per value and member.
func (j *Job) SetSweepMemberNamed(i, n, maxParallel int, values, names map[string]string) {
	j.ArrayIndex = i
	j.ArraySize = n
	j.MaxParallel = maxParallel
	j.SweepValues = values
	env := make(map[string]string, len(j.Task.Env)+len(values))
	maps.Copy(env, j.Task.Env)
	for k, v := range values {
		name, ok := names[k]
		if !ok {
			name = SweepEnvName(k)
		}
		env[name] = v
	}
	j.Task.Env = env
}

// SweepSpec is a sweep submitted as one spec (PUT /v1/jobs {"sweep": ...},
// and the raft entry that registers it): the first member's job whole
// (without what makes it a member), and for each member its values and the
// fields in which it differs from that template. A sweep whose members
// differ only in an argument sends the job once and a few bytes per member,
// where the members written out were the whole job each (83 KB rather than
// 435 KB for e2e's 1000-member sweep); and the members a server expands
// from it share every field they do not change (the same maps and slices)
// rather than holding a copy each. Each member still has its own Job, its
// environment (its NAI_SWEEP_ values) and what it changes.
type SweepSpec struct {
	Template    *Job          `json:"template"`
	Members     []SweepMember `json:"members"`
	MaxParallel int           `json:"max_parallel,omitempty"`

	// prepared is what Prepare expanded, for the next Expand.
	prepared *expansion
}

type expansion struct {
	jobs    []*Job
	invalid []error
	err     error
}

// Prepare does ExpandValid now, so that the next ExpandValid returns its
// answer at once: the leader expands and checks a sweep it is committing
// while raft writes it (fsm.Predecode), off the one goroutine that
// applies entries. ExpandValid is a function of the spec alone, so its
// answer is the same either way.
func (s *SweepSpec) Prepare() {
	jobs, invalid, err := s.expandValid()
	s.prepared = &expansion{jobs, invalid, err}
}

// SweepMember is one member of a SweepSpec. In JSON, Changes holds only
// the changed fields, in the job's own shape ({"task": {"args": [...]}}),
// so that a member costs a few bytes and decodes as a plain Job.
type SweepMember struct {
	Values map[string]string `json:"values"`
	// Changed names the fields of the job that differ from the template's
	// by their JSON names, "task.NAME" for a field of the task; Changes
	// holds their values (its other fields mean nothing: it may be the
	// member's own job). Members may share a Changed list.
	Changed []string `json:"changed,omitempty"`
	Changes *Job     `json:"changes,omitempty"`
}

// MarshalJSON writes the spec as encoding/json would, byte for byte, but
// its members in one pass: encoding/json calls a member's MarshalJSON and
// then checks and copies what it returns, member by member (most of the
// time of encoding a 1000-member sweep).
func (s SweepSpec) MarshalJSON() ([]byte, error) {
	b, err := appendJSON([]byte(`{"template":`), s.Template)
	if err != nil {
		return nil, fmt.Errorf("sweep template: %w", err)
	}
	b = append(b, `,"members":`...)
	if s.Members == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		var layout *changesLayout
		for i, m := range s.Members {
			if i > 0 {
				b = append(b, ',')
			}
			start := len(b)
			if b, err = m.appendJSON(b, &layout); err != nil {
				return nil, fmt.Errorf("sweep member %d: %w", i, err)
			}
			if i == 0 {
				// Room for members of the first one's size, and a
				// little: one buffer rather than a dozen as it doubles.
				b = slices.Grow(b, (len(s.Members)-1)*(len(b)-start+1)*9/8+64)
			}
		}
		b = append(b, ']')
	}
	if s.MaxParallel != 0 {
		b = strconv.AppendInt(append(b, `,"max_parallel":`...), int64(s.MaxParallel), 10)
	}
	return append(b, '}'), nil
}

// MarshalJSON writes Changes with the changed fields only. A name that
// is not a field of a job spec stays in Changed for Check to refuse.
func (m SweepMember) MarshalJSON() ([]byte, error) {
	var l *changesLayout
	return m.appendJSON(nil, &l)
}

// appendJSON appends what MarshalJSON returns to b. *l is the layout of
// the changes of the member before, made anew when this one's Changed
// differs: members mostly change the same fields.
func (m SweepMember) appendJSON(b []byte, l **changesLayout) ([]byte, error) {
	b = appendJSONStringMap(append(b, `{"values":`...), m.Values)
	if len(m.Changed) == 0 {
		return append(b, '}'), nil
	}
	b = appendJSONStrings(append(b, `,"changed":`...), m.Changed)
	if m.Changes == nil {
		return append(b, '}'), nil
	}
	if *l == nil || !slices.Equal((*l).changed, m.Changed) {
		*l = newChangesLayout(m.Changed)
	}
	var err error
	cv := reflect.ValueOf(m.Changes).Elem()
	b = append(b, `,"changes":{`...)
	for _, f := range (*l).fields {
		b = append(b, f.before...)
		if b, err = appendJSONValue(b, cv.FieldByIndex(f.index)); err != nil {
			return nil, fmt.Errorf("sweep member change %s: %w", f.name, err)
		}
	}
	return append(b, (*l).end...), nil
}

// changesLayout is how appendJSON writes the changes of members that name
// the same fields: the job's own fields, then the task's as one object,
// each with the bytes before its value (separator, key) worked out once
// rather than for every member (a map lookup, a prefix cut and a quoted
// key per field and member were half the time of encoding a sweep).
type changesLayout struct {
	changed []string
	fields  []layoutField
	end     string // closes the task's object, if any, the changes and the member
}

type layoutField struct {
	before string
	name   string
	index  []int
}

func newChangesLayout(changed []string) *changesLayout {
	l := &changesLayout{changed: changed}
	fields := sweepFields()
	var b []byte // what comes before the next value
	n := 0
	for _, task := range []bool{false, true} {
		inTask := 0
		for _, name := range changed {
			f, ok := fields[name]
			if !ok {
				continue
			}
			key, isTask := strings.CutPrefix(name, "task.")
			if isTask != task {
				continue
			}
			if task && inTask == 0 {
				if n > 0 {
					b = append(b, ',')
				}
				b = append(b, `"task":{`...)
				n++
			} else if task || n > 0 {
				b = append(b, ',')
			}
			b = append(strconv.AppendQuote(b, key), ':')
			l.fields = append(l.fields, layoutField{before: string(b), name: name, index: f.index})
			b = b[:0]
			if task {
				inTask++
			} else {
				n++
			}
		}
		if task && inTask > 0 {
			b = append(b, '}')
		}
	}
	l.end = string(append(b, '}', '}'))
	return l
}

var (
	stringType  = reflect.TypeFor[string]()
	stringsType = reflect.TypeFor[[]string]()
)

// appendJSONValue is appendJSON for a field read by reflection, without
// boxing the strings and lists of strings members mostly change.
func appendJSONValue(b []byte, v reflect.Value) ([]byte, error) {
	switch v.Type() {
	case stringType:
		return appendJSONString(b, v.String()), nil
	case stringsType:
		// Not through Interface, which would copy the slice's header
		// to the heap.
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i := range v.Len() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, v.Index(i).String())
		}
		return append(b, ']'), nil
	}
	return appendJSON(b, v.Interface())
}

// appendJSON appends v as encoding/json writes it, byte for byte, without
// its reflection for the strings, lists and maps of strings that sweep
// members are mostly made of (a thousand members are encoded by the CLI,
// and again for the raft entry).
func appendJSON(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return appendJSONString(b, v), nil
	case []string:
		return appendJSONStrings(b, v), nil
	case map[string]string:
		return appendJSONStringMap(b, v), nil
	}
	enc, err := json.Marshal(v)
	return append(b, enc...), err
}

// appendJSONStrings is appendJSON for a list of strings, without boxing it.
func appendJSONStrings(b []byte, v []string) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendJSONStringMap is appendJSON for a map of strings, keys sorted.
func appendJSONStringMap(b []byte, v map[string]string) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	// A member's values are a few: sort their keys on the stack.
	var buf [8]string
	keys := buf[:0]
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendJSONString(b, k), ':')
		b = appendJSONString(b, v[k])
	}
	return append(b, '}')
}

// appendJSONString quotes s as encoding/json does: plain printable ASCII
// as it is, anything else (escapes, <, >, &, other bytes) by json.Marshal.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			enc, _ := json.Marshal(s) // a string always encodes
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// sweepField is a field a member may change: its path of field indices
// from Job.
type sweepField struct {
	index []int
	env   bool // task.env, which holds the member's NAI_SWEEP_ variables
}

// sweepFields are the spec fields of Job and of Task by JSON name ("task."
// for the task's), that is every field a job file can set. The fields that
// make a job a member, and those the cluster owns, are not among them.
var sweepFields = sync.OnceValue(func() map[string]sweepField {
	notSpec := map[string]bool{
		"id": true, "array_id": true, "array_index": true, "array_size": true, "max_parallel": true, "sweep_values": true,
		"status": true, "reason": true, "exit_code": true, "exit_reason": true, "node_id": true, "node_name": true,
		"alloc_id": true, "gpus": true, "attempt": true, "submit_time": true, "start_time": true, "end_time": true,
		"metrics": true, "estimated_start": true, "node_filters": true, "output_digest": true, "output_size": true,
		"metrics_digest": true, "stdout_digest": true, "stderr_digest": true, "create_index": true, "modify_index": true,
		"task": true,
	}
	out := map[string]sweepField{}
	add := func(t reflect.Type, prefix string, base []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "" || name == "-" || (prefix == "" && notSpec[name]) {
				continue
			}
			out[prefix+name] = sweepField{index: append(append([]int(nil), base...), i), env: prefix+name == "task.env"}
		}
	}
	jt := reflect.TypeFor[Job]()
	add(jt, "", nil)
	tf, _ := jt.FieldByName("Task")
	add(tf.Type, "task.", tf.Index)
	return out
})

// sweepFieldList is sweepFields in the order of the struct, so that
// Changed lists come out the same for the same members.
var sweepFieldList = sync.OnceValue(func() []namedSweepField {
	var out []namedSweepField
	for name, f := range sweepFields() {
		out = append(out, namedSweepField{name, f})
	}
	slices.SortFunc(out, func(a, b namedSweepField) int { return slices.Compare(a.index, b.index) })
	return out
})

type namedSweepField struct {
	name string
	sweepField
}

// withoutSweepEnv is a member's environment without the NAI_SWEEP_
// variables of its values (nil when nothing is left).
func withoutSweepEnv(env, values map[string]string) map[string]string {
	if len(values) == 0 || env == nil {
		return env
	}
	out := maps.Clone(env)
	for k, v := range values {
		if key := SweepEnvName(k); out[key] == v {
			delete(out, key)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// sameEnvWithout reports whether withoutSweepEnv(env, values) equals
// want, without building it.
func sameEnvWithout(env, values, want map[string]string) bool {
	var skip []string
	for k, v := range values {
		key := SweepEnvName(k)
		if got, ok := env[key]; ok && got == v {
			skip = append(skip, key)
		}
	}
	n := len(env) - len(skip)
	isNil := env == nil || (len(values) > 0 && n == 0)
	if isNil != (want == nil) || n != len(want) {
		return false
	}
	for k, v := range env {
		if w, ok := want[k]; ok && w == v {
			continue
		}
		if !slices.Contains(skip, k) {
			return false
		}
	}
	return true
}

// NewSweepSpec writes the members of a sweep (each with its ArrayIndex,
// ArraySize, MaxParallel and SweepValues set, as the job file parser makes
// them) as one spec: the first member is the template.
func NewSweepSpec(members []*Job) (*SweepSpec, error) {
	return NewSweepSpecFields(members, nil)
}

// NewSweepSpecFields is NewSweepSpec for members known to differ in the
// spec fields mayDiffer at most (by the names Changed uses, as the job
// file parser's Result.SweepFields gives them), and in their environment
// only by their sweep values' variables unless mayDiffer names task.env:
// only those are compared. nil compares every field. Comparing the ~50
// fields of each member by reflection was most of the time NewSweepSpec
// took for a sweep whose members differ in one.
func NewSweepSpecFields(members []*Job, mayDiffer []string) (*SweepSpec, error) {
	if len(members) == 0 {
		return nil, errors.New("a sweep needs at least one member")
	}
	tmpl := *members[0]
	tmpl.ArrayID, tmpl.ArrayIndex, tmpl.ArraySize, tmpl.MaxParallel, tmpl.SweepValues = "", 0, 0, 0, nil
	tmpl.Task.Env = withoutSweepEnv(members[0].Task.Env, members[0].SweepValues)
	s := &SweepSpec{Template: &tmpl, MaxParallel: members[0].MaxParallel, Members: make([]SweepMember, len(members))}
	fields := sweepFieldList()
	if mayDiffer != nil {
		fields = slices.DeleteFunc(slices.Clone(fields), func(f namedSweepField) bool {
			return !f.env && !slices.Contains(mayDiffer, f.name)
		})
	}
	if mayDiffer != nil && !slices.Contains(mayDiffer, "task.env") {
		// Each member's environment is the template's and its own
		// values' NAI_SWEEP_ variables, which the template leaves out.
		fields = slices.DeleteFunc(fields, func(f namedSweepField) bool { return f.env })
	}
	tv := reflect.ValueOf(&tmpl).Elem()
	var changed, prev []string
	for i, m := range members {
		if m == nil {
			return nil, fmt.Errorf("sweep member %d is missing", i)
		}
		if m.MaxParallel != s.MaxParallel {
			return nil, fmt.Errorf("sweep member %d has max_parallel %d, member 0 %d", i, m.MaxParallel, s.MaxParallel)
		}
		s.Members[i].Values = m.SweepValues
		if i == 0 {
			continue
		}
		mv := reflect.ValueOf(m).Elem()
		changed = changed[:0]
		envChanged := false
		for _, f := range fields {
			if f.env {
				if sameEnvWithout(m.Task.Env, m.SweepValues, tmpl.Task.Env) {
					continue
				}
				envChanged = true
			} else if equalValues(mv.FieldByIndex(f.index), tv.FieldByIndex(f.index)) {
				continue
			}
			changed = append(changed, f.name)
		}
		if len(changed) == 0 {
			continue
		}
		// Members mostly change the same fields: they share the list.
		if !slices.Equal(changed, prev) {
			prev = slices.Clone(changed)
		}
		s.Members[i].Changed = prev
		if !envChanged {
			// The member holds the changed values itself.
			s.Members[i].Changes = m
			continue
		}
		changes := &Job{}
		cv := reflect.ValueOf(changes).Elem()
		for _, f := range fields {
			if !slices.Contains(prev, f.name) {
				continue
			}
			if f.env {
				changes.Task.Env = withoutSweepEnv(m.Task.Env, m.SweepValues)
			} else {
				cv.FieldByIndex(f.index).Set(mv.FieldByIndex(f.index))
			}
		}
		s.Members[i].Changes = changes
	}
	return s, nil
}

// Check refuses a spec that cannot be expanded: no template, too many
// members, or a change of a field that is not a job file's.
func (s *SweepSpec) Check(maxMembers int) error {
	if s.Template == nil {
		return errors.New("the sweep has no template job")
	}
	if len(s.Members) == 0 {
		return errors.New("the sweep has no member")
	}
	if len(s.Members) > maxMembers {
		return fmt.Errorf("%d sweep members: the limit is %d", len(s.Members), maxMembers)
	}
	fields := sweepFields()
	for i, m := range s.Members {
		if len(m.Values) == 0 {
			return fmt.Errorf("sweep member %d has no values", i)
		}
		for _, name := range m.Changed {
			if _, ok := fields[name]; !ok {
				return fmt.Errorf("sweep member %d changes %q, which is not a field of a job spec", i, name)
			}
		}
		if len(m.Changed) > 0 && m.Changes == nil {
			return fmt.Errorf("sweep member %d names changed fields but has no changes", i)
		}
	}
	return nil
}

// Expand returns the members as jobs. A member shares every field it
// does not change with the template, maps and slices included: treat them
// as read-only (as the state store does with everything it holds), and Copy
// a member before changing one of them in place.
//
// The members' Jobs are one allocation (a thousand ~1 KB objects were a
// tenth of the state machine's time registering a sweep), which stays
// alive while any member's Job does. A state store replaces a stored row
// rather than changing it: once some members' rows have been replaced
// (started, given a reason to wait, cancelled) and others not, the block
// holds the replaced ones' old Jobs too, at most ~1 KB a member until
// the last original row goes.
func (s *SweepSpec) Expand() ([]*Job, error) {
	return s.expand(nil)
}

// ExpandValid returns the members as Expand does, each made ready to be
// stored as a new job: its own copy of what registering a job changes in
// place (the pinned versions of its datasets, models and plugin, the
// service's defaults; the rest stays shared), Canonicalize run, and
// Validate's answer for member i in invalid[i] (invalid is nil when every
// member is valid). The first call after Prepare returns what
// Prepare made.
func (s *SweepSpec) ExpandValid() (jobs []*Job, invalid []error, err error) {
	if p := s.prepared; p != nil {
		s.prepared = nil // the jobs are the caller's now
		return p.jobs, p.invalid, p.err
	}
	return s.expandValid()
}

func (s *SweepSpec) expandValid() ([]*Job, []error, error) {
	var invalid []error
	var once sync.Once
	jobs, err := s.expand(func(i int, j *Job) {
		j.Datasets = slices.Clone(j.Datasets)
		j.Models = slices.Clone(j.Models)
		j.Plugin = j.Plugin.Copy()
		if j.Service != nil {
			svc := *j.Service
			j.Service = &svc
		}
		j.Canonicalize()
		if err := j.Validate(); err != nil {
			once.Do(func() { invalid = make([]error, len(s.Members)) })
			invalid[i] = err
		}
	})
	if err != nil {
		return nil, nil, err
	}
	return jobs, invalid, nil
}

// expandChunk is the fewest members a goroutine of expand makes: fewer
// cost more to hand over than to make (a member takes about a
// microsecond).
const expandChunk = 256

// expand makes the members, then passes each to ready, if set. A large
// sweep is made by up to GOMAXPROCS goroutines at once, each making
// members of its own range (so ready must be safe to call for different
// members at once): the answer is the same, sooner. On the leader the
// expansion runs beside raft's fsync; on every server it is on the path
// of the submitter's answer.
func (s *SweepSpec) expand(ready func(i int, j *Job)) ([]*Job, error) {
	if err := s.Check(len(s.Members)); err != nil {
		return nil, err
	}
	fields := sweepFields()
	n := len(s.Members)
	out := make([]*Job, n)
	block := make([]Job, n)
	names := SweepEnvNames(s.Members[0].Values)
	make1 := func(from, to int) {
		for i := from; i < to; i++ {
			m := &s.Members[i]
			j := &block[i]
			*j = *s.Template
			if len(m.Changed) > 0 {
				jv, cv := reflect.ValueOf(j).Elem(), reflect.ValueOf(m.Changes).Elem()
				for _, name := range m.Changed {
					f := fields[name]
					jv.FieldByIndex(f.index).Set(cv.FieldByIndex(f.index))
				}
			}
			j.SetSweepMemberNamed(i, n, s.MaxParallel, m.Values, names)
			if ready != nil {
				ready(i, j)
			}
			out[i] = j
		}
	}
	workers := min(runtime.GOMAXPROCS(0), n/expandChunk)
	if workers <= 1 {
		make1(0, n)
		return out, nil
	}
	var wg sync.WaitGroup
	per := (n + workers - 1) / workers
	for from := per; from < n; from += per {
		wg.Go(func() { make1(from, min(from+per, n)) })
	}
	make1(0, min(per, n))
	wg.Wait()
	return out, nil
}

// equalValues is reflect.DeepEqual for the acyclic values of a job (nil
// and empty still differ), without boxing each field in an interface:
// NewSweepSpec compares every spec field of every member, and DeepEqual
// made that 16 ms for a 1000-member sweep. Maps and slices that are the
// same one are equal at once.
func equalValues(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.String:
		return a.String() == b.String()
	case reflect.Bool:
		return a.Bool() == b.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() == b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return a.Uint() == b.Uint()
	case reflect.Float32, reflect.Float64:
		return a.Float() == b.Float()
	case reflect.Pointer:
		if a.Pointer() == b.Pointer() {
			return true
		}
		if a.IsNil() || b.IsNil() {
			return false
		}
		return equalValues(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if !equalValues(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		if a.Len() == 0 || a.UnsafePointer() == b.UnsafePointer() {
			return true
		}
		for i := range a.Len() {
			if !equalValues(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Array:
		for i := range a.Len() {
			if !equalValues(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		if a.Len() == 0 || a.UnsafePointer() == b.UnsafePointer() {
			return true
		}
		if a.CanInterface() {
			if am, ok := a.Interface().(map[string]string); ok {
				return maps.Equal(am, b.Interface().(map[string]string))
			}
		}
		for it := a.MapRange(); it.Next(); {
			bv := b.MapIndex(it.Key())
			if !bv.IsValid() || !equalValues(it.Value(), bv) {
				return false
			}
		}
		return true
	}
	// Interfaces, funcs, channels: no job field is one; be exact.
	if !a.CanInterface() {
		return false
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}
