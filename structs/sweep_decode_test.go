package structs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// checkSweepDecode decodes b by SweepSpec's UnmarshalJSON (and
// StrictSweepSpec's) and by encoding/json into sweepSpec, and fails t
// where they differ: in the spec (even one decoded partly before an
// error), in the error, or in memory the members share.
func checkSweepDecode(t testing.TB, b []byte) {
	t.Helper()
	var want sweepSpec
	wantErr := json.Unmarshal(b, &want)

	// Called as json.Decoder calls it. The input is spoiled after: the
	// spec must not keep it.
	in := bytes.Clone(b)
	var got SweepSpec
	err := got.UnmarshalJSON(in)
	for i := range in {
		in[i] = '#'
	}
	if !sameError(err, wantErr) {
		t.Fatalf("%q: error %v, encoding/json %v", b, err, wantErr)
	}
	if !reflect.DeepEqual(&got, (*SweepSpec)(&want)) {
		t.Fatalf("%q:\n got %#v\nwant %#v", b, got, want)
	}
	checkOwnMemory(t, &got)

	// Its members split between goroutines, a spec decodes as it does
	// member after member, or falls to encoding/json as that does.
	plain, split := sweepDecoder{b: b}, sweepDecoder{b: b, splitAt: 1, chunk: 1}
	var plainSpec, splitSpec SweepSpec
	plainOK, splitOK := plain.spec(&plainSpec), split.spec(&splitSpec)
	if plainOK != splitOK || (plainOK && plain.fallbacks != split.fallbacks) {
		t.Fatalf("%q: decoded by hand %v with %d fallbacks, split %v with %d", b, plainOK, plain.fallbacks, splitOK, split.fallbacks)
	}
	if plainOK && !reflect.DeepEqual(plainSpec, splitSpec) {
		t.Fatalf("%q split:\n got %#v\nwant %#v", b, splitSpec, plainSpec)
	}

	// Through json.Unmarshal, as the state machine decodes a raft entry.
	var req struct {
		Sweep *SweepSpec `json:"sweep"`
	}
	var wantReq struct {
		Sweep *sweepSpec `json:"sweep"`
	}
	body := append(append([]byte(`{"sweep":`), b...), '}')
	err, wantErr = json.Unmarshal(body, &req), json.Unmarshal(body, &wantReq)
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("%q in a request: error %v, encoding/json %v", b, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(req.Sweep, (*SweepSpec)(wantReq.Sweep)) {
		t.Fatalf("%q in a request:\n got %#v\nwant %#v", b, req.Sweep, wantReq.Sweep)
	}

	// Strict: as a json.Decoder that disallows unknown fields, on the
	// valid JSON such a decoder gives UnmarshalJSON.
	var strict StrictSweepSpec
	err = strict.UnmarshalJSON(b)
	if !json.Valid(b) {
		if err == nil {
			t.Fatalf("%q: strict decoding took invalid JSON", b)
		}
		return
	}
	var wantStrict sweepSpec
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	wantErr = dec.Decode(&wantStrict)
	if !sameError(err, wantErr) {
		t.Fatalf("%q strict: error %v, encoding/json %v", b, err, wantErr)
	}
	if !reflect.DeepEqual((*SweepSpec)(&strict), (*SweepSpec)(&wantStrict)) {
		t.Fatalf("%q strict:\n got %#v\nwant %#v", b, strict, wantStrict)
	}
}

func sameError(a, b error) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Error() == b.Error())
}

// checkOwnMemory fails t where two members, or a member and the template,
// share a map, a slice's array or a pointed-to value, which encoding/json
// never makes.
func checkOwnMemory(t testing.TB, s *SweepSpec) {
	t.Helper()
	owner := map[uintptr]string{}
	var walk func(v reflect.Value, who string)
	walk = func(v reflect.Value, who string) {
		var p uintptr
		switch v.Kind() {
		case reflect.Map:
			if v.IsNil() {
				return
			}
			p = v.Pointer()
			for it := v.MapRange(); it.Next(); {
				walk(it.Value(), who)
			}
		case reflect.Slice:
			if v.Cap() == 0 {
				return
			}
			p = v.Pointer()
			for i := range v.Len() {
				walk(v.Index(i), who)
			}
		case reflect.Pointer:
			if v.IsNil() {
				return
			}
			p = v.Pointer()
			walk(v.Elem(), who)
		case reflect.Struct:
			if v.Type() == reflect.TypeFor[time.Time]() {
				return // its location is shared
			}
			for i := range v.NumField() {
				walk(v.Field(i), who)
			}
			return
		default:
			return
		}
		if o, ok := owner[p]; ok && o != who {
			t.Fatalf("%s and %s share a %s", o, who, v.Type())
		}
		owner[p] = who
	}
	walk(reflect.ValueOf(s.Template), "the template")
	for i, m := range s.Members {
		walk(reflect.ValueOf(m), fmt.Sprintf("member %d", i))
	}
}

// sweepDecodeCases are inputs where a hand-written decoder could part from
// encoding/json: nulls, empty and duplicate values, keys of another case,
// escapes, bad UTF-8, whitespace, type errors and JSON that is not.
var sweepDecodeCases = []string{
	``, `null`, " \t\r\nnull\n", `nul`, `nullx`, `{}`, `[]`, `"x"`, `1`, `true`, `{`, `}`, `{,}`, `{"members":[]},`,
	`{"members":null}`, `{"members":[]}`, `{"members":[null]}`, `{"members":[{}]}`, `{"members":[{},null,{}]}`,
	`{"members":{}}`, `{"members":"x"}`, `{"members":[1]}`, `{"members":[[]]}`, `{"members":[nul]}`, `{"members":[nullx]}`,
	`{"members":[{"values":null}]}`, `{"members":[{"values":{}}]}`, `{"members":[{"values":{"a":null}}]}`,
	`{"members":[{"values":{"a":"1","a":"2"}}]}`, `{"members":[{"values":{"a":"1","a":null}}]}`,
	`{"members":[{"values":{"a":"1"},"values":{"b":"2"}}]}`, `{"members":[{"values":{"a":"1"},"values":null}]}`,
	`{"members":[{"changed":["x","y"],"changed":[null]}]}`, `{"members":[{"changed":["x"],"changed":[]}]}`,
	`{"members":[{"changed":[]}]}`, `{"members":[{"changed":null}]}`, `{"members":[{"changed":[null,"a"]}]}`,
	`{"members":[{"Values":{"a":"1"}}]}`, `{"members":[{"VALUES":{"a":"1"},"values":{"b":"2"}}]}`, `{"members":[{"valuesx":{}}]}`,
	`{"Members":[{"values":{"a":"1"}}]}`, `{"members":[{"values":{"a":"1"}}],"MEMBERS":[{"values":{"b":"2"}}]}`,
	`{"members":[{"values":{"a":"1"}},{"values":{"c":"3"}}],"members":[{"values":{"b":"2"}}]}`,
	`{"template":{"name":"a"},"template":{"user":"b"}}`, `{"template":{"name":"a"},"template":null}`, `{"template":null}`,
	`{"template":1}`, `{"template":[]}`, `{"template":"x"}`, `{"template":{"name":1,"user":"u"},"members":[{"values":{"a":"1"}}]}`,
	`{"template":{"bogus":1}}`, `{"template":{"a":[[[{"b":"}]\""}]]]}}`, `{"template":{"name":"a\"}]"}}`, `{"template":nullnull}`,
	`{"template":{"name":"a"]}`, `{"template":tru}`, `{"template":{"task":{"args":["x"]}}}`, `{"foo":1,"members":[]}`,
	`{"max_parallel":1}`, `{"max_parallel":-3}`, `{"max_parallel":1.5}`, `{"max_parallel":1e2}`, `{"max_parallel":"2"}`,
	`{"max_parallel":null}`, `{"max_parallel":01}`, `{"max_parallel":-}`, `{"max_parallel":99999999999999999999}`,
	`{"max_parallel":1,"max_parallel":2}`,
	`{"members":[{"values":{"a":"\n\u00e9\ud83d\ude00\/"}}]}`, `{"members":[{"values":{"a":"\ud800"}}]}`,
	"{\"members\":[{\"values\":{\"a\":\"\xff\"}}]}", "{\"members\":[{\"values\":{\"\xed\xa0\x80\":\"1\"}}]}",
	`{"members":[{"values":{"é":"ü€𝄞"}}]}`, "{\"members\":[{\"values\":{\"a\":\"\x01\"}}]}", "{\"members\":[{\"values\":{\"a\":\"\x7f\"}}]}",
	`{"members":[{"values":{"a\u0041":"1"}}]}`, `{"members":[{"v\u0061lues":{"a":"1"}}]}`, `{"members":[{"values":{"a":"\x"}}]}`,
	`{"members":[{"values":{"a":"1"`, `{"members":[{"values":{"a":"1"}}]`, `{"members":[{"values":{"a":"1"}},]}`,
	`{"members":[{"values":{"a":"1",}}]}`, `{"members":[{"values":{"a":"1"}}]} x`, `{"members":[{"values":{"a":"1"}}]}{}`,
	`{"members":[{"values":{"a":"1"}} {"values":{}}]}`, `{"members":[{"values":{"a" "1"}}]}`, `{"members":[{"values":{a:"1"}}]}`,
	"\t{ \"members\" : [ { \"values\" : { \"a\" : \"1\" } , \"changed\" : [ \"task.args\" ] , \"changes\" : { \"task\" : { \"args\" : [ \"1\" , null ] } } } ] }\r\n",
	`{"members":[{"changed":["task.args"],"changes":{"task":{"args":["1"]}}}]}`,
	`{"members":[{"changes":{"task":{"args":null}}}]}`, `{"members":[{"changes":{"task":{"args":[]}}}]}`,
	`{"members":[{"changes":{"task":null}}]}`, `{"members":[{"changes":{"task":{}}}]}`, `{"members":[{"changes":{}}]}`,
	`{"members":[{"changes":null}]}`, `{"members":[{"changes":{"name":null}}]}`, `{"members":[{"changes":{"name":"a","name":"b"}}]}`,
	`{"members":[{"changes":{"name":"a"},"changes":{"user":"b"}}]}`,
	`{"members":[{"changes":{"task":{"args":["a","b"]},"task":{"args":[null]}}}]}`,
	`{"members":[{"changes":{"task":{"env":{"A":"1"}},"task":{"env":{"B":"2"}}}}]}`,
	`{"members":[{"changes":{"task":{"env":{"A":"1"},"env":{"B":"2"}}}}]}`, `{"members":[{"changes":{"task":{"env":{"A":null}}}}]}`,
	`{"members":[{"changes":{"labels":{"a":"b"},"type":"service","group":"g","queue":"q","description":"d","code":"c","user":"u"}}]}`,
	`{"members":[{"changes":{"task":{"command":"c","script":"s","workdir":"w","user":"u","env":{}}}}]}`,
	`{"members":[{"changes":{"priority":3}}]}`, `{"members":[{"changes":{"resources":{"cpu":1}}}]}`,
	`{"members":[{"changes":{"time_limit":"1h"}}]}`, `{"members":[{"changes":{"time_limit":"forever"}}]}`,
	`{"members":[{"changes":{"task":{"nproc_per_node":2}}}]}`, `{"members":[{"changes":{"bogus":1}}]}`,
	`{"members":[{"changes":{"Name":"x"}}]}`, `{"members":[{"changes":{"task":{"Args":["x"]}}}]}`,
	`{"members":[{"changes":{"task":{"args":"x"}}}]}`, `{"members":[{"changes":{"task":{"args":[1]}}}]}`,
	`{"members":[{"changes":{"name":1}}]}`, `{"members":[{"changes":[]}]}`, `{"members":[{"values":[]}]}`,
	`{"members":[{"values":{"a":1}}]}`, `{"members":[{"values":{"a":{}}}]}`, `{"members":[{"changed":"x"}]}`,
	`{"members":[{"values":{},"bogus":1}]}`, `{"members":[{"values":{"a":"1"}},{"values":{"a":"2"},"bogus":[1,{"x":"]"}]}]}`,
	`{"members":[{"values":{"a":"1"}},{"values":{"a":2}}]}`,
}

// UnmarshalJSON gives what encoding/json gives, on every case.
func TestSweepSpecUnmarshal(t *testing.T) {
	for _, c := range sweepDecodeCases {
		t.Run("", func(t *testing.T) { checkSweepDecode(t, []byte(c)) })
	}
	for _, b := range sweepSpecSeeds(t) {
		checkSweepDecode(t, b)
	}
}

// A spec decoded into one that holds something already is merged as
// encoding/json merges it.
func TestSweepSpecUnmarshalInto(t *testing.T) {
	b := []byte(`{"template":{"user":"u"},"members":[{"values":{"b":"2"}}]}`)
	prev := func() *SweepSpec {
		return &SweepSpec{Template: &Job{Name: "n"}, Members: []SweepMember{{Values: map[string]string{"a": "1"}}}, MaxParallel: 4}
	}
	got, want := prev(), prev()
	if err := json.Unmarshal(b, got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, (*sweepSpec)(want)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
	var nilSpec *SweepSpec
	if err := nilSpec.UnmarshalJSON([]byte(`{}`)); err == nil {
		t.Error("decoding into a nil spec: no error")
	}
}

// sweepSpecVariants are sweeps as tests and the fuzz test build them, by
// what their members change; byHand: only fields UnmarshalJSON decodes
// without encoding/json, and no escapes.
var sweepSpecVariants = []struct {
	vary   func(j *Job, i int)
	byHand bool
}{
	{nil, true}, // task.args, as e2e's sweep
	{func(j *Job, i int) {
		j.Name = fmt.Sprintf("lr-%d", i)
		j.Task.Env["SEED"] = fmt.Sprint(i * 7)
		j.Task.Command = fmt.Sprintf("python%d", i%2)
		j.Labels = map[string]string{"i": fmt.Sprint(i), "é": "ü"}
	}, true},
	{func(j *Job, i int) {
		j.Task.Args = append(j.Task.Args, "é\n<b> & \"q\" \\ \u2028")
		j.Description = fmt.Sprintf("ünï %d\t", i)
		j.Task.Script = "#!/bin/sh\necho \"$1\"\n"
	}, false},
	{func(j *Job, i int) {
		j.Resources.GPU.Count = 1 + i%2
		j.Task.Args = nil
		j.Task.Command = ""
		j.Task.Script = fmt.Sprintf("echo %d", i%2)
		j.TimeLimit = Duration(time.Duration(i) * time.Minute)
		j.Retry = &RetryPolicy{Attempts: i}
	}, false},
	{func(j *Job, i int) { j.Task.Args = []string{}; j.Task.Env = nil }, true},
	{func(j *Job, i int) { j.Task.Args = nil }, true},
}

// sweepSpecSeeds are the specs of sweepSpecVariants as JSON.
func sweepSpecSeeds(t testing.TB) [][]byte {
	var out [][]byte
	for _, v := range sweepSpecVariants {
		spec, err := NewSweepSpec(sweepMembers(4, v.vary))
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(spec)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// A spec written by MarshalJSON decodes to one that expands to the same
// members; those whose members change strings, lists and maps of strings
// only are decoded without encoding/json.
func TestSweepSpecUnmarshalRoundTrip(t *testing.T) {
	for v, variant := range sweepSpecVariants {
		spec, err := NewSweepSpec(sweepMembers(5, variant.vary))
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(spec)
		if err != nil {
			t.Fatal(err)
		}
		var got SweepSpec
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		want, err := spec.Expand()
		if err != nil {
			t.Fatal(err)
		}
		members, err := got.Expand()
		if err != nil {
			t.Fatal(err)
		}
		// As JSON: a list that is empty rather than nil is not sent.
		if a, b := jsonOf(t, members), jsonOf(t, want); a != b {
			t.Errorf("variant %d: the decoded spec expands to\n%s\nwant\n%s", v, a, b)
		}
		d := sweepDecoder{b: b}
		var s SweepSpec
		byHand := d.spec(&s)
		if variant.byHand && (!byHand || d.fallbacks > 0) {
			t.Errorf("variant %d: decoded by hand %v, %d members by encoding/json", v, byHand, d.fallbacks)
		}
	}
}

// A spec long enough that goroutines decode its members, ranges of them
// each, decodes as encoding/json decodes it: written by MarshalJSON, and
// spoiled in one member in the middle (a member the decoder gives to
// encoding/json, one with an unknown field, a null one, broken JSON).
func TestSweepSpecUnmarshalLarge(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	spoilt := 0
	for v, variant := range sweepSpecVariants {
		spec, err := NewSweepSpec(sweepMembers(3*expandChunk+5, variant.vary))
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(spec)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < splitMembersBytes {
			t.Fatalf("variant %d: %d bytes, too few to be split", v, len(b))
		}
		checkSweepDecode(t, b)
		if variant.byHand {
			d := sweepDecoder{b: b}
			var s SweepSpec
			if !d.spec(&s) || d.fallbacks > 0 {
				t.Errorf("variant %d: not decoded by hand (%d members by encoding/json)", v, d.fallbacks)
			}
		}
		mid := `{"values":{"lr":"` + fmt.Sprint(2*expandChunk) + `"}}`
		if !bytes.Contains(b, []byte(mid)) {
			continue // the variant's members change more than lr
		}
		spoilt++
		for _, bad := range []string{
			`{"values":{"lr":"2"}}`,
			`{"values":{"lr":"2"},"colour":1}`,
			`null`,
			`{"values":{"lr":"2"}`,
			`{"values":{"lr":"2"}}}`,
			`{"values":{"lr":"2"}},`,
		} {
			checkSweepDecode(t, bytes.Replace(b, []byte(mid), []byte(bad), 1))
		}
	}
	if spoilt == 0 {
		t.Fatal("no variant had a member to spoil")
	}
}

// FuzzSweepSpecUnmarshal compares UnmarshalJSON with encoding/json on
// specs as NewSweepSpec writes them, and on what the fuzzer makes of them.
func FuzzSweepSpecUnmarshal(f *testing.F) {
	for _, c := range sweepDecodeCases {
		f.Add([]byte(c))
	}
	for _, b := range sweepSpecSeeds(f) {
		f.Add(b)
		// Mutations: keys in another case, escapes, whitespace, nulls.
		s := string(b)
		for _, m := range [][2]string{
			{`"values"`, `"Values"`}, {`"args"`, `"ARGS"`}, {`"lr"`, `"l\u0072"`}, {`,`, " ,\n"}, {`:`, "\t:"},
			{`["`, `[null,"`}, {`"changes":{`, `"changes":{"name":null,`}, {`"task":{`, `"task":{"args":["x"],`},
			{`}`, `,"values":null}`}, {`"1"`, `1`}, {`]`, `,]`},
		} {
			f.Add([]byte(strings.Replace(s, m[0], m[1], 2)))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkSweepDecode(t, b)
	})
}

// BenchmarkSweepSpecUnmarshal1000 decodes a 1000-member sweep whose
// members differ in an argument, as the API client sends it (102 KB): by
// UnmarshalJSON alone (method), by json.Unmarshal as the state machine
// decodes the raft entry (unmarshal), and by a json.Decoder that disallows
// unknown fields as the HTTP API decodes the body (strict-decoder); each
// against encoding/json alone (sweepSpec, -encoding-json).
//
// 2 shared cores, load ~1.4, per op, new vs encoding/json:
//
//	method          1.8 ms, 1.54 MB, 9.0k allocs vs 6.3 ms, 1.64 MB, 15.0k allocs
//	unmarshal       3.3 ms, 1.54 MB, 9.0k allocs vs 6.2 ms, 1.64 MB, 15.0k allocs
//	strict-decoder  3.8 ms, 1.80 MB, 9.1k allocs vs 6.8 ms, 1.90 MB, 15.0k allocs
//
// Of unmarshal's 3.3 ms, 1.5 are encoding/json's own two scans of the
// bytes (checkValid, then skip to find what to give UnmarshalJSON). What
// is left is mostly allocating: each member's map, lists, strings and a
// 1 KB Job for its changes, as encoding/json makes them.
//
// The changes' Jobs allocated up to 128 at a time (sweepDecoder.newJob),
// side by side with the commit before, -cpu 1, load ~2: method 2.55-2.96
// -> 2.13-2.55 ms, 9.0k -> 8.0k allocs.
//
// Members decoded by two goroutines (membersSplit; 2026-12-03), method:
// with GOGC=off, -cpu 1 (one goroutine) 1.32 ms, -cpu 2 0.97-0.98 ms; with
// the collector on, 1.90-1.97 ms either way, and 1.57-1.58 ms against
// 1.56-1.76 ms for the commit before: on two cores the collection that
// the 1.5 MB per op brings takes the second core. Servers with more cores
// than two have one to spare.
func BenchmarkSweepSpecUnmarshal1000(b *testing.B) {
	spec, err := NewSweepSpec(sweepMembers(1000, nil))
	if err != nil {
		b.Fatal(err)
	}
	body, err := json.Marshal(map[string]any{"sweep": spec})
	if err != nil {
		b.Fatal(err)
	}
	spec1 := body[len(`{"sweep":`) : len(body)-1]
	b.Run("method", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var s SweepSpec
			if err := s.UnmarshalJSON(spec1); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("method-encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var s sweepSpec
			if err := json.Unmarshal(spec1, &s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var req struct {
				Sweep *SweepSpec `json:"sweep"`
			}
			if err := json.Unmarshal(body, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unmarshal-encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var req struct {
				Sweep *sweepSpec `json:"sweep"`
			}
			if err := json.Unmarshal(body, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("strict-decoder", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var req struct {
				Sweep *StrictSweepSpec `json:"sweep"`
			}
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("strict-decoder-encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var req struct {
				Sweep *sweepSpec `json:"sweep"`
			}
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The raft entry of a sweep decodes its spec by UnmarshalJSON, through
// json.Unmarshal as the state machine calls it: to what encoding/json
// gives, with fewer allocations (the members decoded by hand).
func TestJobRegisterRequestDecodesSweep(t *testing.T) {
	spec, err := NewSweepSpec(sweepMembers(200, nil))
	if err != nil {
		t.Fatal(err)
	}
	entry, err := (&JobRegisterRequest{Sweep: spec, Now: time.Unix(1, 0).UTC()}).AppendEntryJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	type plainRequest struct {
		Jobs  []*Job     `json:"jobs"`
		Sweep *sweepSpec `json:"sweep,omitempty"`
		Now   time.Time  `json:"now"`
	}
	var got JobRegisterRequest
	var want plainRequest
	if err := json.Unmarshal(entry, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(entry, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, JobRegisterRequest{Jobs: want.Jobs, Sweep: (*SweepSpec)(want.Sweep), Now: want.Now}) {
		t.Fatal("the entry decodes to another request than encoding/json's")
	}
	byHand := testing.AllocsPerRun(5, func() { _ = json.Unmarshal(entry, new(JobRegisterRequest)) })
	plain := testing.AllocsPerRun(5, func() { _ = json.Unmarshal(entry, new(plainRequest)) })
	if byHand > plain*3/4 {
		t.Errorf("%.0f allocations decoding the entry, encoding/json %.0f: not decoded by hand", byHand, plain)
	}
}
