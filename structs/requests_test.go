package structs

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// A registration writes its raft entry's JSON itself, byte for byte what
// json.Marshal writes: plain jobs, sweeps whose members differ in several
// fields, and strings json.Marshal escapes (<, >, &, quotes, control and
// non-ASCII characters).
func TestJobRegisterRequestAppendEntryJSON(t *testing.T) {
	now := time.Date(2026, 12, 3, 6, 0, 0, 123456789, time.UTC)
	odd := func(j *Job, i int) {
		j.Name = fmt.Sprintf("lr-<%d>&\"q\"", i)
		j.Task.Env["NOTE"] = fmt.Sprintf("tab\there é %d \u2028", i)
		j.Task.Args = append(j.Task.Args, "a&b", "<script>")
		j.Labels = map[string]string{"k<": ">v"}
	}
	var reqs []*JobRegisterRequest
	reqs = append(reqs, &JobRegisterRequest{Now: now, Jobs: sweepMembers(2, nil)})
	reqs = append(reqs, &JobRegisterRequest{Now: now})
	for _, vary := range []func(*Job, int){nil, odd} {
		spec, err := NewSweepSpec(sweepMembers(5, vary))
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, &JobRegisterRequest{Now: now, Sweep: spec})
	}
	for i, r := range reqs {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.AppendEntryJSON([]byte("xy"))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if string(got) != "xy"+string(want) {
			t.Errorf("request %d:\n got %s\nwant xy%s", i, got, want)
		}
	}
}

// DecodeJobRegisterEntry gives what json.Unmarshal gives for the bodies
// AppendEntryJSON writes for sweeps, and declines everything else.
func TestDecodeJobRegisterEntry(t *testing.T) {
	now := time.Date(2026, 12, 3, 6, 0, 0, 123456789, time.UTC)
	odd := func(j *Job, i int) {
		j.Name = fmt.Sprintf("lr-<%d>&\"q\"", i)
		j.Task.Env["now"] = `,"now":"x"`
		j.Task.Args = append(j.Task.Args, `,"now":"2026-01-01T00:00:00Z"}`, "<script>")
	}
	for _, vary := range []func(*Job, int){nil, odd} {
		spec, err := NewSweepSpec(sweepMembers(5, vary))
		if err != nil {
			t.Fatal(err)
		}
		b, err := (&JobRegisterRequest{Now: now, Sweep: spec}).AppendEntryJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := DecodeJobRegisterEntry(b)
		if !ok {
			t.Fatalf("declined its own entry %s", b)
		}
		checkEntryLikeJSON(t, b, got)
	}
	for _, b := range []string{
		`{"jobs":[],"now":"2026-12-03T06:00:00Z"}`,
		`{"jobs":null,"sweep":null,"now":"2026-12-03T06:00:00Z"}`,
		`{"jobs":null,"sweep":{"template":{},"members":[]},"now":"2026-12-03T06:00:00Z"} `,
		`{"jobs":null,"sweep":{"template":{},"members":[]},"now":"not a time"}`,
		`{"jobs":null,"sweep":{"template":{},"members":[]},"now":"2026-12-03T06:00:00\"Z"}`,
		`{"jobs":null,"sweep":{"template":{},"members":[]} x,"now":"2026-12-03T06:00:00Z"}`,
		`{"jobs":null,"sweep":{"template":{},"members":[],"now":"2026-12-03T06:00:00Z"}`,
		`{"jobs":null,"sweep":,"now":"2026-12-03T06:00:00Z"}`,
		`{"jobs":null,"sweep":`,
	} {
		if r, ok := DecodeJobRegisterEntry([]byte(b)); ok {
			t.Errorf("%s: decoded (%+v), want it declined", b, r)
		}
	}
}

// checkEntryLikeJSON fails unless json.Unmarshal of b gives want.
func checkEntryLikeJSON(t *testing.T, b []byte, got *JobRegisterRequest) {
	t.Helper()
	var want JobRegisterRequest
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("json.Unmarshal of an entry the fast path took: %v\n%s", err, b)
	}
	if !reflect.DeepEqual(got, &want) {
		t.Fatalf("fast path %+v\njson.Unmarshal %+v\nfor %s", got, &want, b)
	}
}

func FuzzDecodeJobRegisterEntry(f *testing.F) {
	spec, err := NewSweepSpec(sweepMembers(3, nil))
	if err != nil {
		f.Fatal(err)
	}
	b, err := (&JobRegisterRequest{Now: time.Unix(1, 2).UTC(), Sweep: spec}).AppendEntryJSON(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"jobs":null,"sweep":{"template":{"name":"a"},"members":[{"values":{"i":"1"}}]},"now":"2026-12-03T06:00:00Z"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, ok := DecodeJobRegisterEntry(b); ok {
			checkEntryLikeJSON(t, b, r)
		}
	})
}
