package executor

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// marshalExit writes exit.json byte for byte as json.MarshalIndent does,
// for every shape an ExitStatus takes, and refuses what it refuses.
func TestMarshalExit(t *testing.T) {
	code := func(c int) *int { return &c }
	zone := time.FixedZone("X", 5*3600+1800)
	start := time.Date(2026, 12, 3, 10, 25, 9, 123456789, time.UTC)
	for _, tc := range []struct {
		name string
		st   ExitStatus
	}{
		{"never ran", ExitStatus{Reason: structs.ExitStartFail, Message: "stopped before it started", EndTime: start}},
		{"exited", ExitStatus{ExitCode: code(0), Reason: structs.ExitExited, StartTime: start, EndTime: start.Add(3 * time.Millisecond),
			Usage: &structs.ResourceUsage{CPUSeconds: 0.001234, MaxMemoryBytes: 524288}}},
		{"oom, zone and negative code", ExitStatus{ExitCode: code(-1), Reason: structs.ExitOOMKilled, Message: "the task ran out of its memory limit",
			StartTime: start.In(zone), EndTime: start.In(zone).Add(time.Hour), Usage: &structs.ResourceUsage{CPUSeconds: 12345.5, MaxMemoryBytes: 1 << 40, OOMKills: 3}}},
		{"message to escape", ExitStatus{ExitCode: code(127), Reason: "signal:SIGKILL", Message: "cannot start \"a<b>&c\"\n\t\x01 é \u2028 \xff",
			EndTime: start}},
		{"tiny and zero floats", ExitStatus{ExitCode: code(1), Reason: structs.ExitExited, EndTime: start, Usage: &structs.ResourceUsage{CPUSeconds: 1e-9}}},
		{"zero usage", ExitStatus{ExitCode: code(1), Reason: structs.ExitExited, EndTime: start, Usage: &structs.ResourceUsage{}}},
		{"huge float", ExitStatus{ExitCode: code(2), Reason: structs.ExitExited, EndTime: start, Usage: &structs.ResourceUsage{CPUSeconds: 1.5e22}}},
		{"zero times", ExitStatus{ExitCode: code(3)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, werr := json.MarshalIndent(&tc.st, "", "  ")
			got, err := marshalExit(&tc.st)
			if err != nil || werr != nil || !bytes.Equal(got, want) {
				t.Errorf("marshalExit:\n%s\n%v\nencoding/json:\n%s\n%v", got, err, want, werr)
			}
		})
	}
	for _, tc := range []struct {
		name string
		st   ExitStatus
	}{
		{"NaN", ExitStatus{Usage: &structs.ResourceUsage{CPUSeconds: math.NaN()}}},
		{"year past 9999", ExitStatus{EndTime: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := marshalExit(&tc.st); err == nil {
				t.Error("marshalExit accepted what encoding/json refuses")
			}
		})
	}
}

// FuzzMarshalExit: any status marshalExit writes is encoding/json's.
func FuzzMarshalExit(f *testing.F) {
	f.Add("exited", "", true, 0, 0.5, int64(1<<20), 0, int64(0), int64(1764757509123456789), true)
	f.Add("signal:SIGKILL", "a<b>&\u2028\xff", false, 137, 1e-9, int64(0), 2, int64(-5), int64(0), false)
	f.Fuzz(func(t *testing.T, reason, msg string, hasCode bool, code int, cpu float64, mem int64, oom int, start, end int64, hasUsage bool) {
		st := ExitStatus{Reason: structs.ExitReason(reason), Message: msg, EndTime: time.Unix(0, end)}
		if start != 0 {
			st.StartTime = time.Unix(0, start).In(time.FixedZone("F", int(start%50000)))
		}
		if hasCode {
			st.ExitCode = &code
		}
		if hasUsage {
			st.Usage = &structs.ResourceUsage{CPUSeconds: cpu, MaxMemoryBytes: mem, OOMKills: oom}
		}
		want, werr := json.MarshalIndent(&st, "", "  ")
		got, err := marshalExit(&st)
		if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("marshalExit:\n%s\n%v\nencoding/json:\n%s\n%v", got, err, want, werr)
		}
	})
}

// marshalExit names every field it writes: a field added to ExitStatus or
// to structs.ResourceUsage (which other records share) would be left out
// of exit.json without a word, and the agent would report the task's end
// without it. This fails first; teach marshalExit the field, then add it
// here.
func TestMarshalExitKnowsEveryField(t *testing.T) {
	for _, tc := range []struct {
		typ  reflect.Type
		want []string
	}{
		{reflect.TypeFor[ExitStatus](), []string{"ExitCode", "Reason", "Message", "StartTime", "EndTime", "Usage"}},
		{reflect.TypeFor[structs.ResourceUsage](), []string{"CPUSeconds", "MaxMemoryBytes", "OOMKills"}},
	} {
		var got []string
		for f := range tc.typ.Fields() {
			got = append(got, f.Name)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s has fields %v; marshalExit writes %v: teach it the new ones (exitjson.go)", tc.typ, got, tc.want)
		}
	}
}
