package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

func TestSqueueFormat(t *testing.T) {
	run := testJob("31", "eval-with-a-long-name", structs.JobRunning, running("gpu-node-01", 90*time.Minute, 0, 1), func(j *structs.Job) {
		j.TimeLimit = structs.Duration(2 * time.Hour)
		j.Resources.GPU.Model = "H100"
	})
	pend := testJob("30", "bert", structs.JobPending, func(j *structs.Job) {
		j.Reason, j.Queue, j.Resources.Nodes, j.Resources.GPU.Count = "Resources", "long", 2, 0
		j.Task = structs.Task{Script: "echo hi\n"}
	})
	member := testJob("22", "lr-sweep", structs.JobFailed, ended(10*time.Minute, 5*time.Minute, intp(3), structs.ExitExited), func(j *structs.Job) {
		j.ArrayID, j.ArrayIndex, j.Group = "20", 2, "ml"
	})
	tests := []struct {
		name   string
		format string
		job    *structs.Job
		want   string
	}{
		{"the issue's codes", "%i %j %T", run, "31 eval-with-a-long-name RUNNING"},
		{"squeue's default", "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R", run,
			"                31   default eval-wit    alice  R    1:30:00      1 gpu-node-01"},
		{"a pending job's reason in parentheses", "%t %R|%r|%N|%D|%C|%b|%o", pend, "PD (Resources)|Resources||2|4|N/A|(script)"},
		{"left-justified with a size", "%-6j|%5i|", pend, "bert  |30   |"},
		{"percent sign", "%i%%", pend, "30%"},
		{"resources", "%C %b %m %Q", run, "2 gpu:H100:2 4GiB 50"},
		{"times", "%l %L %M %S %V %e", run, "2:00:00 30:00 1:30:00 2026-11-25T18:30:00 2026-11-25T19:50:00 N/A"},
		{"no time limit", "%l|%L|%o", pend, "UNLIMITED|UNLIMITED|(script)"},
		{"array member", "%i %A %F %K %a %g %T %t %r", member, "20_2 22 20 2 ml ml FAILED F exit code 3"},
		{"an --array member: its task id", "%i %K", testJob("23", "t", structs.JobPending, func(j *structs.Job) {
			j.ArrayID, j.ArrayIndex, j.SweepValues = "20", 0, map[string]string{structs.ArrayTaskIDKey: "5"}
		}), "20_5 5"},
		{"not a member: %K is N/A, as in squeue", "%i %A %F %K %a %g", run, "31 31 31 N/A N/A N/A"},
		{"lost is NODE_FAIL", "%T %t", testJob("9", "x", structs.JobLost), "NODE_FAIL NF"},
		{"completed", "%T %t", testJob("9", "x", structs.JobComplete), "COMPLETED CD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !isSqueueFormat(tc.format) {
				t.Fatalf("%q is not taken for squeue's language", tc.format)
			}
			f, err := parseSqueueFormat(tc.format, now)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := f.Execute(&b, tc.job); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got  %q\nwant %q", b.String(), tc.want)
			}
		})
	}
}

func TestSqueueFormatErrors(t *testing.T) {
	for _, tc := range []struct{ format, want string }{
		{"%i %X", "-format: %X is not a squeue code nai knows; it knows %i (job id, A_N for a member), %j (name)"},
		{"%i %.10", `-format "%i %.10" ends in the middle of "%.10": expected a squeue code such as %i after it`},
		{"%99999i", `the size in "%99999" is too large`},
		{"%é", "%é is not a squeue code nai knows"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			_, err := parseSqueueFormat(tc.format, now)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), "{{.ID}} {{.Name}}") && strings.Contains(tc.want, "knows") {
				t.Errorf("error %v does not point at Go templates", err)
			}
		})
	}
}

// Every code is in the list an error shows, once.
func TestSqueueCodeListComplete(t *testing.T) {
	list := squeueCodeList()
	for c, code := range squeueCodes {
		entry := "%" + string(c) + " (" + code.what + ")"
		if strings.Count(list, entry) != 1 {
			t.Errorf("the list of codes has %q %d times: %s", entry, strings.Count(list, entry), list)
		}
	}
	if n := strings.Count(list, "%"); n != len(squeueCodes) {
		t.Errorf("the list names %d codes, there are %d", n, len(squeueCodes))
	}
}

func FuzzSqueueFormat(f *testing.F) {
	for _, s := range []string{"%i %j %T", "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R", "%-6j|%5i|%%", "%", "%.", "%1", "%z"} {
		f.Add(s)
	}
	job := testJob("31", "eval", structs.JobRunning, running("n1", time.Minute, 0))
	f.Fuzz(func(t *testing.T, s string) {
		sf, err := parseSqueueFormat(s, now)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "-format") {
				t.Fatalf("error %q does not name -format", err)
			}
			return
		}
		var b bytes.Buffer
		if err := sf.Execute(&b, job); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(s, "%") && b.String() != s {
			t.Fatalf("a format without codes printed %q, not itself", b.String())
		}
	})
}

// -jobs A_N selects the member with task id N (an --array's), not the
// member at position N.
func TestJobIDsSelectByTaskID(t *testing.T) {
	member := func(id string, index int, task string) *structs.Job {
		return testJob(id, "t", structs.JobPending, func(j *structs.Job) {
			j.ArrayID, j.ArrayIndex, j.SweepValues = "70", index, map[string]string{structs.ArrayTaskIDKey: task}
		})
	}
	jobs := []*structs.Job{member("70", 0, "1"), member("71", 1, "2"), member("72", 2, "3"), member("73", 3, "4")}
	for _, tc := range []struct {
		ref  string
		want []string
	}{
		{"70_1", []string{"70"}},
		{"70_4", []string{"73"}},
		{"70_0", nil},
		{"70", []string{"70", "71", "72", "73"}},
	} {
		sel := &jobIDs{members: map[string][]int{}}
		arr, idx, isMember, err := memberRef(tc.ref)
		if err != nil {
			t.Fatal(err)
		}
		if isMember {
			sel.members[arr] = append(sel.members[arr], idx)
		} else {
			sel.ids = append(sel.ids, tc.ref)
		}
		var got []string
		for _, j := range sel.apply(slices.Clone(jobs)) {
			got = append(got, j.ID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("-jobs %s: %v, want %v", tc.ref, got, tc.want)
		}
	}
}

// The help of nai queue names every code, with squeue's meaning: %A the
// job id, %a the account, %F/%K the array's id and task id. It used to say
// "%A/%a array id/index".
func TestQueueHelpCodes(t *testing.T) {
	desc := queueCommand().Description
	for c := range squeueCodes {
		if !strings.Contains(desc, "%"+string(c)) {
			t.Errorf("nai queue -h does not name %%%c", c)
		}
	}
	for _, want := range []string{"%A job id", "%a account", "%F/%K array job id/task id"} {
		if !strings.Contains(strings.ReplaceAll(desc, "\n", " "), want) {
			t.Errorf("nai queue -h lacks %q:\n%s", want, desc)
		}
	}
}

// squeue's codes in a Go template would print as they are: refused.
func TestQueueFormatMixed(t *testing.T) {
	for _, tc := range []struct {
		format string
		bad    string // the code the error names; "" when the format is fine
	}{
		{"%i {{.ExitCode}}", "%i"},
		{"{{.ID}} %.10j", "%.10j"},
		{"{{.ID}} {{.Name}} %-5T", "%-5T"},
		{"{{.ID}} {{printf \"%5d\" .Priority}}", ""},
		{"{{.ID}} {{.Priority}}%", ""},
		{"{{.ID}} 100%% {{.Name}}", ""},
		{"{{.ID}} % done", ""},
	} {
		t.Run(tc.format, func(t *testing.T) {
			_, err := parseQueueFormat(tc.format, now)
			switch {
			case tc.bad == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), "mixes squeue's %-codes ("+tc.bad+")")):
				t.Errorf("error %v; want one naming %s as a squeue code in a template", err, tc.bad)
			}
		})
	}
}
