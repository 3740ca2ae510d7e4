package structs

import (
	"bytes"
	"cmp"
	"encoding/json"
	"reflect"
	"runtime"
	"sync"
	"unicode/utf8"
)

// sweepSpec is SweepSpec without its methods: what encoding/json makes of
// a spec, which UnmarshalJSON falls back to and is tested against. (Its
// name is the one encoding/json's type errors give.)
type sweepSpec SweepSpec

// UnmarshalJSON decodes a spec exactly as encoding/json decodes it without
// this method, but its members by hand: encoding/json's reflection took
// 4-6 ms of a 1000-member sweep's submission, on the leader's HTTP path and
// again in every server's state machine. What the scanner does not handle
// (any key but the canonical ones, an escape, a number, a change of a field
// that is not a string or a list or map of strings, a duplicate key) goes
// to encoding/json: the member's bytes, or the whole spec (on any error, so
// that the errors are encoding/json's too). The result depends on b alone:
// every server decodes a raft entry to the same spec.
func (s *SweepSpec) UnmarshalJSON(b []byte) error {
	return decodeSweepSpec(b, s, false)
}

// StrictSweepSpec is a SweepSpec that refuses unknown fields, as a
// json.Decoder with DisallowUnknownFields refuses them in a SweepSpec
// without UnmarshalJSON: that setting does not reach an UnmarshalJSON, and
// the API refuses a field it does not know (a newer client's, a typo)
// rather than drop it.
type StrictSweepSpec SweepSpec

// UnmarshalJSON is SweepSpec's, refusing unknown fields.
func (s *StrictSweepSpec) UnmarshalJSON(b []byte) error {
	return decodeSweepSpec(b, (*SweepSpec)(s), true)
}

func decodeSweepSpec(b []byte, s *SweepSpec, strict bool) error {
	// encoding/json decodes into what s holds (merging maps, reusing
	// slices' elements): only a zero spec is decoded by hand.
	if s != nil && reflect.ValueOf(s).Elem().IsZero() {
		d := sweepDecoder{b: b, strict: strict}
		var out SweepSpec
		if d.spec(&out) {
			*s = out
			return nil
		}
	}
	return decodeJSON(b, (*sweepSpec)(s), strict)
}

// decodeJSON is json.Unmarshal, or with strict a json.Decoder that
// disallows unknown fields (which would take the first of several values:
// b is checked first).
func decodeJSON(b []byte, v any, strict bool) error {
	if !strict || !json.Valid(b) {
		return json.Unmarshal(b, v)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// sweepDecoder reads a spec from b at i. Its methods return false where b
// is not what they decode, or not valid JSON: the caller then decodes that
// value, or the whole spec, with encoding/json.
type sweepDecoder struct {
	b      []byte
	i      int
	strict bool
	// names holds the members' value keys and changed field names, the
	// same for every member: one string each rather than one a member.
	// (Strings cannot be changed: sharing them is not seen.)
	names map[string]string
	// A list's strings and a map's keys and values as they are read,
	// to be made into one of the right size.
	list      []string
	fallbacks int // members decoded by encoding/json
	// splitAt and chunk, when set, replace splitMembersBytes and
	// expandChunk in membersSplit (tests).
	splitAt, chunk int
	// jobs is where members' changes are decoded, allocated some at a
	// time: a thousand ~1 KB Jobs allocated one by one were a third of
	// the time decoding a 1000-member spec took.
	jobs []Job
}

// maxJobChunk bounds how many Jobs newJob allocates at once.
const maxJobChunk = 128

// newJob returns a zero Job for a member's changes.
func (d *sweepDecoder) newJob() *Job {
	if len(d.jobs) == cap(d.jobs) {
		d.jobs = make([]Job, 0, min(max(8, 2*cap(d.jobs)), maxJobChunk))
	}
	d.jobs = d.jobs[:len(d.jobs)+1]
	return &d.jobs[len(d.jobs)-1]
}

func (d *sweepDecoder) spec(s *SweepSpec) bool {
	d.space()
	if d.null() {
		d.space()
		return d.i == len(d.b)
	}
	var seen uint
	ok := d.object(func(key []byte) bool {
		var bit uint
		switch string(key) {
		case "template":
			bit = 1
			start := d.i
			if !d.skip() || decodeJSON(d.b[start:d.i], &s.Template, d.strict) != nil {
				return false
			}
		case "max_parallel":
			bit = 2
			start := d.i
			if !d.skip() || decodeJSON(d.b[start:d.i], &s.MaxParallel, d.strict) != nil {
				return false
			}
		case "members":
			// A second list would be decoded into the first one's
			// members: encoding/json does that.
			bit = 4
			if !d.members(s) {
				return false
			}
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		return true
	})
	d.space()
	return ok && d.i == len(d.b)
}

func (d *sweepDecoder) members(s *SweepSpec) bool {
	if d.null() {
		return true
	}
	if !d.eat('[') {
		return false
	}
	s.Members = []SweepMember{}
	d.space()
	if d.eat(']') {
		return true
	}
	if splitAt := cmp.Or(d.splitAt, splitMembersBytes); len(d.b)-d.i >= splitAt && runtime.GOMAXPROCS(0) > 1 {
		return d.membersSplit(s)
	}
	for {
		start := d.i
		s.Members = append(s.Members, SweepMember{})
		m := &s.Members[len(s.Members)-1]
		if !d.member(m) {
			// encoding/json decodes this one.
			d.fallbacks++
			*m = SweepMember{}
			d.i = start
			if !d.skip() || decodeJSON(d.b[start:d.i], m, d.strict) != nil {
				return false
			}
		}
		d.space()
		if d.eat(']') {
			return true
		}
		if !d.eat(',') {
			return false
		}
		d.space()
	}
}

// splitMembersBytes is the least JSON of members that membersSplit
// decodes: a spec that size has a few hundred members.
const splitMembersBytes = 16 << 10

// membersSplit is members for a long list, whose members several
// goroutines decode at once, each a range of them (a 1000-member spec's
// decoding is on the path of its submission twice on the leader, and on
// every follower's one goroutine that applies entries). It first finds
// where each member starts and ends, as skip finds the end of the member
// encoding/json is given in members; then each member is decoded from its
// bytes alone, as members decodes it, so the spec is the same.
func (d *sweepDecoder) membersSplit(s *SweepSpec) bool {
	var starts, ends []int
	for {
		starts = append(starts, d.i)
		if !d.skip() {
			return false
		}
		ends = append(ends, d.i)
		d.space()
		if d.eat(']') {
			break
		}
		if !d.eat(',') {
			return false
		}
		d.space()
	}
	n := len(starts)
	s.Members = make([]SweepMember, n)
	decode := func(sub *sweepDecoder, from, to int) bool {
		for k := from; k < to; k++ {
			m := &s.Members[k]
			sub.i = starts[k]
			if sub.member(m) && sub.i == ends[k] {
				continue
			}
			// encoding/json decodes this one.
			sub.fallbacks++
			*m = SweepMember{}
			if decodeJSON(sub.b[starts[k]:ends[k]], m, sub.strict) != nil {
				return false
			}
		}
		return true
	}
	workers := min(runtime.GOMAXPROCS(0), n/cmp.Or(d.chunk, expandChunk))
	if workers <= 1 {
		end := d.i
		ok := decode(d, 0, n)
		d.i = end
		return ok
	}
	per := (n + workers - 1) / workers
	subs := make([]sweepDecoder, 0, workers-1)
	oks := make([]bool, workers-1)
	var wg sync.WaitGroup
	for from := per; from < n; from += per {
		subs = append(subs, sweepDecoder{b: d.b, strict: d.strict})
		sub, ok := &subs[len(subs)-1], &oks[len(subs)-1]
		wg.Go(func() { *ok = decode(sub, from, min(from+per, n)) })
	}
	end := d.i
	ok := decode(d, 0, min(per, n))
	wg.Wait()
	d.i = end
	for k := range subs {
		ok = ok && oks[k]
		d.fallbacks += subs[k].fallbacks
	}
	return ok
}

func (d *sweepDecoder) member(m *SweepMember) bool {
	if d.null() {
		return true
	}
	var seen uint
	return d.object(func(key []byte) bool {
		var bit uint
		var ok bool
		switch string(key) {
		case "values":
			bit = 1
			m.Values, ok = d.stringMap(true)
		case "changed":
			bit = 2
			m.Changed, ok = d.strings(true)
		case "changes":
			bit = 4
			m.Changes, ok = d.job()
		default:
			return false
		}
		if seen&bit != 0 {
			return false // a duplicate decodes into the first: encoding/json's
		}
		seen |= bit
		return ok
	})
}

// job decodes a member's changes, when they are fields of the kinds
// jobField and taskField give.
func (d *sweepDecoder) job() (*Job, bool) {
	if d.null() {
		return nil, true
	}
	j := d.newJob()
	var seen uint
	return j, d.object(func(key []byte) bool {
		bit, f := jobField(j, key)
		if f == nil || seen&bit != 0 {
			return false
		}
		seen |= bit
		if bit == taskBit {
			return d.task(&j.Task)
		}
		return d.field(f)
	})
}

func (d *sweepDecoder) task(t *Task) bool {
	if d.null() {
		return true // null leaves a struct as it is
	}
	var seen uint
	return d.object(func(key []byte) bool {
		bit, f := taskField(t, key)
		if f == nil || seen&bit != 0 {
			return false
		}
		seen |= bit
		return d.field(f)
	})
}

const taskBit = 1 << 8

// jobField is where the field key of a job's changes decodes to, and a bit
// of its own; nil for a field decoded by encoding/json. These are the
// fields of sweepFields that hold strings, lists and maps of strings.
func jobField(j *Job, key []byte) (uint, any) {
	switch string(key) {
	case "name":
		return 1 << 0, &j.Name
	case "type":
		return 1 << 1, (*string)(&j.Type)
	case "user":
		return 1 << 2, &j.User
	case "group":
		return 1 << 3, &j.Group
	case "queue":
		return 1 << 4, &j.Queue
	case "description":
		return 1 << 5, &j.Description
	case "code":
		return 1 << 6, &j.Code
	case "labels":
		return 1 << 7, &j.Labels
	case "task":
		return taskBit, &j.Task // an object: decoded by task
	}
	return 0, nil
}

// taskField is jobField for the task's fields.
func taskField(t *Task, key []byte) (uint, any) {
	switch string(key) {
	case "command":
		return 1 << 0, &t.Command
	case "args":
		return 1 << 1, &t.Args
	case "script":
		return 1 << 2, &t.Script
	case "env":
		return 1 << 3, &t.Env
	case "workdir":
		return 1 << 4, &t.Workdir
	case "user":
		return 1 << 5, &t.User
	}
	return 0, nil
}

// field decodes a value into a string, list or map of strings as
// encoding/json does into a field seen once: null leaves a string as it
// is and makes a list or map nil.
func (d *sweepDecoder) field(f any) bool {
	var ok bool
	switch p := f.(type) {
	case *string:
		if d.null() {
			return true
		}
		*p, ok = d.string(false)
	case *[]string:
		*p, ok = d.strings(false)
	case *map[string]string:
		*p, ok = d.stringMap(false)
	}
	return ok
}

// stringMap decodes an object of strings, or null (nil). A null value
// is "", as encoding/json's zeroed map element. With intern the keys are
// shared names.
func (d *sweepDecoder) stringMap(intern bool) (map[string]string, bool) {
	if d.null() {
		return nil, true
	}
	d.list = d.list[:0]
	ok := d.object(func(key []byte) bool {
		var k string
		if intern {
			k = d.name(key)
		} else {
			k = string(key)
		}
		var v string
		if !d.null() {
			var ok bool
			if v, ok = d.string(false); !ok {
				return false
			}
		}
		d.list = append(d.list, k, v)
		return true
	})
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(d.list)/2)
	for i := 0; i < len(d.list); i += 2 {
		out[d.list[i]] = d.list[i+1] // the last of a key's values, as encoding/json
	}
	return out, true
}

// strings decodes a list of strings, or null (nil); [] is an empty list,
// not nil, and a null element "".
func (d *sweepDecoder) strings(intern bool) ([]string, bool) {
	if d.null() {
		return nil, true
	}
	if !d.eat('[') {
		return nil, false
	}
	d.space()
	if d.eat(']') {
		return []string{}, true
	}
	d.list = d.list[:0]
	for {
		var s string
		if !d.null() {
			var ok bool
			if s, ok = d.string(intern); !ok {
				return nil, false
			}
		}
		d.list = append(d.list, s)
		d.space()
		if d.eat(']') {
			return append(make([]string, 0, len(d.list)), d.list...), true
		}
		if !d.eat(',') {
			return nil, false
		}
		d.space()
	}
}

// object reads an object, calling field for each key with the decoder at
// its value.
func (d *sweepDecoder) object(field func(key []byte) bool) bool {
	if !d.eat('{') {
		return false
	}
	d.space()
	if d.eat('}') {
		return true
	}
	for {
		key, ok := d.raw()
		if !ok {
			return false
		}
		d.space()
		if !d.eat(':') {
			return false
		}
		d.space()
		if !field(key) {
			return false
		}
		d.space()
		if d.eat('}') {
			return true
		}
		if !d.eat(',') {
			return false
		}
		d.space()
	}
}

// string decodes a string without escapes; with intern, as a shared name.
func (d *sweepDecoder) string(intern bool) (string, bool) {
	b, ok := d.raw()
	if !ok {
		return "", false
	}
	if intern {
		return d.name(b), true
	}
	return string(b), true
}

// raw reads a string without escapes and returns its bytes. Invalid UTF-8,
// which encoding/json replaces, is not one: nor are control characters,
// which are not JSON.
func (d *sweepDecoder) raw() ([]byte, bool) {
	if !d.eat('"') {
		return nil, false
	}
	ascii := true
	for j := d.i; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			s := d.b[d.i:j]
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			d.i = j + 1
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// name is string(b), shared with the members before that had it.
func (d *sweepDecoder) name(b []byte) string {
	if s, ok := d.names[string(b)]; ok {
		return s
	}
	s := string(b)
	if d.names == nil {
		d.names = map[string]string{}
	}
	if len(d.names) < 64 { // names, not values: a few
		d.names[s] = s
	}
	return s
}

// skip passes over one value without checking it: the caller gives it to
// encoding/json, which does.
func (d *sweepDecoder) skip() bool {
	depth := 0
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case '"':
			if !d.skipString() {
				return false
			}
		case '{', '[':
			depth++
			d.i++
		case '}', ']':
			if depth == 0 {
				return false
			}
			depth--
			d.i++
		default:
			if depth == 0 {
				// A number or literal: to the next delimiter.
				start := d.i
				for d.i < len(d.b) && !isDelim(d.b[d.i]) {
					d.i++
				}
				return d.i > start
			}
			d.i++
		}
		if depth == 0 {
			return true
		}
	}
	return false
}

func (d *sweepDecoder) skipString() bool {
	for j := d.i + 1; j < len(d.b); j++ {
		switch d.b[j] {
		case '\\':
			j++
		case '"':
			d.i = j + 1
			return true
		}
	}
	return false
}

func isDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', ':', '[', ']', '{', '}', '"':
		return true
	}
	return false
}

func (d *sweepDecoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *sweepDecoder) eat(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *sweepDecoder) null() bool {
	if bytes.HasPrefix(d.b[d.i:], []byte("null")) {
		d.i += 4
		return true
	}
	return false
}
