package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/nai-project/nai/structs"
)

// slurmArrayJobs is array 60 submitted with --array=1,3,5 (jobs 60, 61
// and 62; SLURM_ARRAY_TASK_ID 1, 3 and 5), and sweep 20 (sweepJobs).
func slurmArrayJobs() []*structs.Job {
	task := func(id string, idx int, taskID string, st structs.JobStatus) *structs.Job {
		return testJob(id, "a.sh", st, func(j *structs.Job) {
			j.ArrayID, j.ArrayIndex, j.ArraySize = "60", idx, 3
			j.SweepValues = map[string]string{structs.ArrayTaskIDKey: taskID}
			if st == structs.JobPending {
				j.Reason = "Resources"
			}
		})
	}
	return append(sweepJobs(),
		task("60", 0, "1", structs.JobRunning),
		task("61", 1, "3", structs.JobPending),
		task("62", 2, "5", structs.JobPending))
}

// A_N names the member whose Slurm task id is N in an --array array (and
// the member of index N in a sweep block's), in every command.
func TestArrayTaskIDRefs(t *testing.T) {
	logs := map[string]string{"60/stdout": "task 1\n", "61/stdout": "task 3\n", "62/stdout": "task 5\n", "21/stdout": "lr 0.03\n"}
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		stdout     string // the whole of it, when set
		contains   []string
		stderr     string
		wantCancel []string
	}{
		{name: "logs of task 3", args: []string{"job", "logs", "60_3"}, stdout: "task 3\n"},
		{name: "logs of task 1, the array's first", args: []string{"job", "logs", "60_1"}, stdout: "task 1\n"},
		{name: "a sweep block's member by index", args: []string{"job", "logs", "20_1"}, stdout: "lr 0.03\n"},
		{name: "a position is not a task id", args: []string{"job", "logs", "60_2"}, code: 1,
			stderr: "Error: job array 60 has no member 2 (members 1,3,5)\n"},
		{name: "status of task 5", args: []string{"job", "status", "60_5"}, contains: []string{"ID                        = 62", "Array                     = 60_5"}},
		{name: "status of the array", args: []string{"job", "status", "60"},
			contains: []string{"60_1      running\n60_[3,5]  pending\n", "60_1    60  SLURM_ARRAY_TASK_ID=1", "60_5    62  SLURM_ARRAY_TASK_ID=5"}},
		{name: "cancel tasks 3-4: a range skips the ids no task has", args: []string{"job", "cancel", "60_[3-4]"}, wantCancel: []string{"61"},
			stdout: "Cancel requested for job 60_3 (job 61).\n"},
		{name: "cancel a task id no task has", args: []string{"job", "cancel", "60_[4,5,6-9]"}, code: 1, wantCancel: []string{"62"},
			stdout: "Cancel requested for job 60_5 (job 62).\n", stderr: "Error: jobs 60_4, 60_[6-9] not found\n"},
		{name: "cancel a position that is no task id", args: []string{"job", "cancel", "60_2"}, code: 1,
			stderr: "Error: job 60_2 not found\n"},
		{name: "cancel tasks 3 and 5", args: []string{"job", "cancel", "60_[3,5]"}, wantCancel: []string{"61", "62"},
			stdout: "Cancel requested for job 60_3 (job 61).\nCancel requested for job 60_5 (job 62).\n2 jobs cancelled.\n"},
		{name: "cancel every task is the array", args: []string{"job", "cancel", "60_[1-5]"}, wantCancel: []string{"60"},
			stdout: "Cancel requested for job array 60 (3 jobs).\n"},
		{name: "cancel task 1 alone", args: []string{"job", "cancel", "60_1"}, wantCancel: []string{"60?only=true"},
			stdout: "Cancel requested for job 60_1 (job 60).\n"},
		{name: "the queue folds pending tasks by id", args: []string{"queue", "-u", "alice"}, contains: []string{"60_[3,5]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeCluster{t: t, jobs: slurmArrayJobs(), logs: logs}
			f.start()
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != tc.code || stderr != tc.stderr {
				t.Errorf("exit %d, stderr %q; want %d, %q", code, stderr, tc.code, tc.stderr)
			}
			if tc.stdout != "" && stdout != tc.stdout {
				t.Errorf("stdout = %q, want %q", stdout, tc.stdout)
			}
			for _, s := range tc.contains {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			if !slices.Equal(f.cancelled, tc.wantCancel) {
				t.Errorf("cancelled %q, want %q", f.cancelled, tc.wantCancel)
			}
		})
	}
}

// Logs and outputs of an array id of several members are its first
// member's (whose job id it is), with a note on stderr that says so and
// how to name another; a job of its own and a member get no note.
func TestLogsOfArrayIDSaySo(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		stdout string
		stderr string
	}{
		{[]string{"job", "logs", "60"}, "task 1\n", "Job 60 is array 60 of 3 jobs (60_[1,3,5]): these are the logs of its first, 60_1; name another as 60_N.\n"},
		{[]string{"job", "logs", "-stderr", "20"}, "", "Job 20 is array 20 of 4 jobs (20_[0-3]): these are the logs of its first, 20_0; name another as 20_N.\n"},
		{[]string{"job", "logs", "60_3"}, "task 3\n", ""},
		{[]string{"job", "logs", "30"}, "bert\n", ""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			f := &fakeCluster{t: t, jobs: slurmArrayJobs(), logs: map[string]string{"60/stdout": "task 1\n", "61/stdout": "task 3\n", "30/stdout": "bert\n"}}
			f.start()
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != 0 || stdout != tc.stdout || stderr != tc.stderr {
				t.Errorf("exit %d, stdout %q, stderr %q; want 0, %q, %q", code, stdout, stderr, tc.stdout, tc.stderr)
			}
		})
	}
}
