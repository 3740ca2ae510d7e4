package structs

import (
	"encoding/json"
	"fmt"
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
