package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/structs"
)

func TestDescribeChange(t *testing.T) {
	pending := testJob("7", "train", structs.JobPending)
	waiting := testJob("7", "train", structs.JobPending, func(j *structs.Job) { j.Reason = "Resources: 2 GPUs needed, 0 free" })
	estimated := testJob("7", "train", structs.JobPending, func(j *structs.Job) {
		j.Reason = "Priority"
		j.EstimatedStart = now.Add(90 * time.Minute)
	})
	run := testJob("7", "train", structs.JobRunning, running("dev", 0, 0, 1))
	oneGPU := testJob("7", "train", structs.JobRunning, running("dev", 0, 3))
	noGPU := testJob("7", "train", structs.JobRunning, running("", 0))
	requeued := testJob("7", "train", structs.JobPending, func(j *structs.Job) { j.Attempt, j.Reason = 2, "Resources" })
	done := testJob("7", "train", structs.JobComplete, ended(0, 0, intp(0), structs.ExitExited))
	// Job 7 as member 2 of array 5; and as the first member of --array
	// 7 (its job id is the array's), with task id 8.
	member := func(j *structs.Job) {
		j.ArrayID, j.ArrayIndex, j.ArraySize = "5", 2, 4
	}
	taskMember := func(j *structs.Job) {
		j.ArrayID, j.ArrayIndex, j.ArraySize = "7", 0, 2
		j.SweepValues = map[string]string{structs.ArrayTaskIDKey: "8"}
	}
	memberWaiting := testJob("7", "train", structs.JobPending, member, func(j *structs.Job) { j.Reason = "Priority" })
	memberRun := testJob("7", "train", structs.JobRunning, member, running("dev", 0, 1))
	memberRequeued := testJob("7", "train", structs.JobPending, member, func(j *structs.Job) { j.Attempt, j.Reason = 2, "Resources" })
	retried := func(j *structs.Job) { j.Retry = &structs.RetryPolicy{Attempts: 3, On: []string{"failed", "preempted"}} }
	failedOnce := testJob("7", "train", structs.JobPending, retried, func(j *structs.Job) { j.Attempt, j.Reason = 1, "requeued after failed" })
	runAgain := testJob("7", "train", structs.JobRunning, retried, running("dev", 0, 0, 1), func(j *structs.Job) { j.Attempt = 2 })
	doneSecond := testJob("7", "train", structs.JobComplete, retried, ended(0, 0, intp(0), structs.ExitExited), func(j *structs.Job) { j.Attempt = 2 })
	preempted := testJob("7", "train", structs.JobPending, retried, func(j *structs.Job) { j.Attempt, j.Reason = 1, "Priority" })
	// How attempt 1 ended, as the job's allocations say.
	endedWith := func(code int, reason structs.ExitReason) attemptLookup {
		return func(attempt int) *structs.Allocation {
			if attempt != 1 {
				return nil
			}
			return &structs.Allocation{ID: "a1", Attempt: 1, ClientStatus: structs.ClientStatusFields{Status: structs.AllocFailed, ExitCode: intp(code), ExitReason: reason}}
		}
	}
	lookup := func(name string) attemptLookup {
		switch {
		case name == "preempted":
			return endedWith(143, structs.ExitPreempted)
		case strings.HasPrefix(name, "requeued "), name == "ended is left to the summary":
			return endedWith(3, structs.ExitExited)
		}
		return nil
	}
	tests := []struct {
		name      string
		prev, cur *structs.Job
		want      []string
	}{
		{"first sight pending", nil, pending, []string{"job 7 pending"}},
		{"reason appears", pending, waiting, []string{"job 7 pending: Resources: 2 GPUs needed, 0 free"}},
		{"same reason is quiet", waiting, waiting, nil},
		{"reason changes with estimate", waiting, estimated, []string{"job 7 pending: Priority (estimated start 21:30)"}},
		{"starts", waiting, run, []string{"job 7 running on node dev (GPUs 0,1)"}},
		{"one GPU", nil, oneGPU, []string{"job 7 running on node dev (GPU 3)"}},
		{"no GPU, node by id", nil, noGPU, []string{"job 7 running on node 3f2c9a1e (no GPUs)"}},
		{"still running is quiet", run, run, nil},
		{"requeued", run, requeued, []string{"job 7: attempt 2 ended; requeued (attempt 3): Resources"}},
		{"requeued after a failure, with its exit code", run, failedOnce, []string{"job 7: attempt 1 failed with exit code 3; requeued (attempt 2 of at most 4)"}},
		{"requeued unseen: running again", run, runAgain, []string{"job 7: attempt 1 failed with exit code 3; requeued (attempt 2 of at most 4)", "job 7 running on node dev (GPUs 0,1)"}},
		{"requeued after the pending was told: no repeat", failedOnce, runAgain, []string{"job 7 running on node dev (GPUs 0,1)"}},
		{"preempted", run, preempted, []string{"job 7: attempt 1 ended: preempted (exit code 143); requeued (attempt 2 of at most 4): Priority"}},
		{"ended is left to the summary", run, done, nil},
		{"requeued unseen, then ended", pending, doneSecond, []string{"job 7: attempt 1 failed with exit code 3; requeued (attempt 2 of at most 4)"}},
		{"an array's member is A_N", nil, memberWaiting, []string{"job 5_2 pending: Priority"}},
		{"a member starts", memberWaiting, memberRun, []string{"job 5_2 running on node dev (GPU 1)"}},
		{"a member requeued", memberRun, memberRequeued, []string{"job 5_2: attempt 2 ended; requeued (attempt 3): Resources"}},
		{"an --array member by its task id, not the array's id", nil, testJob("7", "t", structs.JobPending, taskMember), []string{"job 7_8 pending"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, describeChange(tc.prev, tc.cur, now, lookup(tc.name))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSummaryAndExitCode(t *testing.T) {
	tests := []struct {
		name     string
		job      *structs.Job
		summary  string
		exitCode int
	}{
		{"complete", testJob("7", "t", structs.JobComplete, ended(90*time.Second, 0, intp(0), structs.ExitExited)), "job 7 complete after 1m30s", 0},
		{"failed with code", testJob("7", "t", structs.JobFailed, ended(5*time.Second, 0, intp(3), structs.ExitExited)), "job 7 failed: exit code 3 after 5s", 3},
		{"oom", testJob("7", "t", structs.JobFailed, ended(5*time.Second, 0, intp(137), structs.ExitOOMKilled)), "job 7 failed: oom-killed (exit code 137) after 5s", 137},
		{"time limit without code", testJob("7", "t", structs.JobFailed, ended(2*time.Hour, 0, nil, structs.ExitTimeLimit)), "job 7 failed: time-limit after 2h", 1},
		{"failed with code 0", testJob("7", "t", structs.JobFailed, ended(time.Second, 0, intp(0), structs.ExitGPUFailed)), "job 7 failed: gpu-failed (exit code 0) after 1s", 1},
		{"out of range code", testJob("7", "t", structs.JobFailed, ended(time.Second, 0, intp(-1), "signal:SIGKILL")), "job 7 failed: signal:SIGKILL (exit code -1) after 1s", 1},
		{"cancelled while pending", testJob("7", "t", structs.JobCancelled, func(j *structs.Job) { j.ExitReason = structs.ExitCancelled }), "job 7 cancelled", 1},
		{"dependency never satisfied", testJob("7", "t", structs.JobCancelled, func(j *structs.Job) { j.Reason = "DependencyNeverSatisfied" }), "job 7 cancelled: DependencyNeverSatisfied", 1},
		{"lost", testJob("7", "t", structs.JobLost, ended(time.Minute, 0, nil, structs.ExitNodeLost)), "job 7 lost: node-lost after 1m", 1},
		{"start failed says why", testJob("7", "t", structs.JobFailed, ended(0, 0, nil, structs.ExitStartFail), func(j *structs.Job) {
			j.Reason = "the task would run as root, and this node refuses root tasks"
		}), "job 7 failed: start-failed after 0s; the task would run as root, and this node refuses root tasks", 1},
		{"killed by a signal says which", testJob("7", "t", structs.JobFailed, ended(3*time.Second, 0, intp(-1), structs.ExitExited), func(j *structs.Job) {
			j.Reason = "killed by SIGSEGV"
		}), "job 7 failed: exit code -1 after 3s; killed by SIGSEGV", 1},
		{"a user's cancel needs no reason", testJob("7", "t", structs.JobCancelled, ended(3*time.Second, 0, nil, structs.ExitCancelled), func(j *structs.Job) {
			j.Reason = "cancelled by user"
		}), "job 7 cancelled after 3s", 1},
		{"an array's member is A_N", testJob("7", "t", structs.JobFailed, ended(5*time.Second, 0, intp(3), structs.ExitExited), func(j *structs.Job) {
			j.ArrayID, j.ArrayIndex = "5", 2
		}), "job 5_2 failed: exit code 3 after 5s", 3},
		{"a complete job's note is not news", testJob("7", "t", structs.JobComplete, ended(3*time.Second, 0, intp(0), structs.ExitExited), func(j *structs.Job) {
			j.Reason = "output upload failed: disk full"
		}), "job 7 complete after 3s", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := summaryLine(tc.job, now); got != tc.summary {
				t.Errorf("summary = %q, want %q", got, tc.summary)
			}
			if got := jobExitCode(tc.job); got != tc.exitCode {
				t.Errorf("exit code = %d, want %d", got, tc.exitCode)
			}
		})
	}
}

func TestDurations(t *testing.T) {
	tests := []struct {
		d            time.Duration
		clock, human string
	}{
		{-time.Second, "0:00", "0s"},
		{42 * time.Second, "0:42", "42s"},
		{5*time.Minute + 3*time.Second, "5:03", "5m3s"},
		{10 * time.Minute, "10:00", "10m"},
		{2*time.Hour + 5*time.Minute + 40*time.Second, "2:05:40", "2h6m"},
		{3 * time.Hour, "3:00:00", "3h"},
		{49*time.Hour + 3*time.Minute + 4*time.Second, "2-01:03:04", "2d1h"},
		{72 * time.Hour, "3-00:00:00", "3d"},
	}
	for _, tc := range tests {
		if got := jobtext.Clock(tc.d); got != tc.clock {
			t.Errorf("jobtext.Clock(%v) = %q, want %q", tc.d, got, tc.clock)
		}
		if got := human(tc.d); got != tc.human {
			t.Errorf("human(%v) = %q, want %q", tc.d, got, tc.human)
		}
	}
}

func TestRanges(t *testing.T) {
	tests := []struct {
		in   []int
		want string
	}{
		{[]int{4}, "4"},
		{[]int{4, 5, 6, 7, 8, 9}, "4-9"},
		{[]int{9, 0, 1, 2, 5, 7, 8, 8}, "0-2,5,7-9"},
	}
	for _, tc := range tests {
		if got := jobtext.Ranges(tc.in); got != tc.want {
			t.Errorf("jobtext.Ranges(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
