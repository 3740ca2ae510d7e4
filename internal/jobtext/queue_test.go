package jobtext

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/nai-project/nai/structs"
)

// The table's columns are where text/tabwriter (padding 2) would put them,
// whatever the cells hold: wide names, UTF-8, folded sweeps, empty users.
func TestQueueTableAlignsLikeTabwriter(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	job := func(id, name, user string, st structs.JobStatus, f func(*structs.Job)) *structs.Job {
		j := &structs.Job{ID: id, Name: name, User: user, Status: st, SubmitTime: now.Add(-time.Hour),
			Resources: structs.Resources{Nodes: 1, GPU: structs.GPURequest{Count: 1}}}
		if f != nil {
			f(j)
		}
		return j
	}
	member := func(i int) *structs.Job {
		return job(fmt.Sprint(20+i), "sweep", "ana", structs.JobPending, func(j *structs.Job) {
			j.ArrayID, j.ArrayIndex, j.Reason = "20", i, "ArrayLimit"
		})
	}
	for _, tc := range []struct {
		name string
		jobs []*structs.Job
	}{
		{"empty", nil},
		{"mixed", []*structs.Job{
			job("1", "train-résumé-ünïcode", "björn", structs.JobRunning, func(j *structs.Job) { j.StartTime, j.NodeName = now.Add(-90*time.Minute), "gpu-node-01" }),
			job("2", "x", "", structs.JobPending, func(j *structs.Job) { j.Reason = "Priority"; j.EstimatedStart = now.Add(26 * time.Hour) }),
			member(0), member(1), member(2), member(5),
			job("3", "gang", "a-very-long-user-name", structs.JobPending, func(j *structs.Job) { j.Resources.Nodes, j.Resources.GPU.Count = 2, 8 }),
			job("4", "done", "ana", structs.JobFailed, func(j *structs.Job) {
				code := 137
				j.ExitCode, j.ExitReason, j.StartTime, j.EndTime = &code, structs.ExitOOMKilled, now.Add(-time.Hour), now.Add(-time.Minute)
			}),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got, want bytes.Buffer
			if err := QueueTable(&got, tc.jobs, now); err != nil {
				t.Fatal(err)
			}
			tw := tabwriter.NewWriter(&want, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, strings.Join(queueHeader[:], "\t"))
			for _, r := range foldQueue(tc.jobs) {
				j, id := r.job, r.job.ID
				if r.members != nil {
					id = j.ArrayID + "_[" + Ranges(r.members) + "]"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", id, j.Name, OrDash(j.User), j.Status,
					GPURequest(j.Resources), NodeLabel(j), QueueTime(j, now), QueueReason(j, now))
			}
			tw.Flush()
			if got.String() != want.String() {
				t.Errorf("table:\n%s\ntabwriter:\n%s", got.String(), want.String())
			}
			if tc.name == "mixed" && !strings.Contains(got.String(), "20_[0-2,5]") {
				t.Errorf("the sweep's pending members are not folded:\n%s", got.String())
			}
		})
	}
}

// Pending members of an array submitted with Slurm task ids fold by those
// ids (12_[3,5-6]), as squeue shows them; a sweep block's by index.
func TestFoldQueueNumbersMembers(t *testing.T) {
	member := func(id string, idx int, values map[string]string) *structs.Job {
		return &structs.Job{ID: id, ArrayID: "12", ArrayIndex: idx, Status: structs.JobPending, Reason: "Resources", SweepValues: values}
	}
	task := func(n string) map[string]string { return map[string]string{structs.ArrayTaskIDKey: n} }
	for _, tc := range []struct {
		name string
		jobs []*structs.Job
		want string
	}{
		{"task ids", []*structs.Job{member("13", 1, task("3")), member("14", 2, task("5")), member("15", 3, task("6"))}, "3,5-6"},
		{"sweep indices", []*structs.Job{member("13", 1, map[string]string{"lr": "1"}), member("14", 2, map[string]string{"lr": "2"})}, "1-2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows := foldQueue(tc.jobs)
			if len(rows) != 1 || Ranges(rows[0].members) != tc.want {
				t.Fatalf("folded into %+v, want one row 12_[%s]", rows, tc.want)
			}
		})
	}
}

// BenchmarkQueueTable5000 is the server's side of `nai queue` with 5000
// pending jobs (GET /v1/queue?view=table). 2026-12-02, the shared 2-core
// VM: 2.4 ms and 20k allocations (four small strings per row) per table here, where the CLI's
// decoding of the 5000 rows (18.6 ms) and tabwriter (9.0 ms) cost 28 ms.
func BenchmarkQueueTable5000(b *testing.B) {
	now := time.Now()
	jobs := make([]*structs.Job, 5000)
	for i := range jobs {
		jobs[i] = &structs.Job{ID: fmt.Sprint(i + 1), Name: fmt.Sprintf("seq%d", i), User: "root", Status: structs.JobPending,
			Reason: "BeginTime: starts no earlier than 2030-01-01T00:00:00Z", SubmitTime: now.Add(-time.Minute),
			EstimatedStart: now.Add(time.Hour), Resources: structs.Resources{Nodes: 1, GPU: structs.GPURequest{Count: 1}}}
	}
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := QueueTable(&buf, jobs, now); err != nil {
			b.Fatal(err)
		}
	}
}

// Members that an update made different (another name, other resources)
// are not folded into their neighbours' row, which would show them as
// asking for what the first asks.
func TestFoldQueueKeepsUpdatedMembersApart(t *testing.T) {
	member := func(i int, f func(*structs.Job)) *structs.Job {
		j := &structs.Job{ID: fmt.Sprint(110 + i), Name: "arr", Status: structs.JobPending, Reason: "Held",
			ArrayID: "110", ArrayIndex: i, Resources: structs.Resources{Nodes: 1, GPU: structs.GPURequest{Count: 1}}}
		if f != nil {
			f(j)
		}
		return j
	}
	jobs := []*structs.Job{member(0, nil), member(1, nil),
		member(2, func(j *structs.Job) { j.Name, j.Resources.GPU.Count = "other", 3 }),
		member(3, func(j *structs.Job) { j.Name, j.Resources.GPU.Count = "other", 3 })}
	var ids []string
	for _, r := range foldQueue(jobs) {
		ids = append(ids, fmt.Sprintf("%s:%v", r.job.Name, r.members))
	}
	if got := strings.Join(ids, " "); got != "arr:[0 1] other:[2 3]" {
		t.Errorf("rows %s, want arr:[0 1] other:[2 3]", got)
	}
}

// A job the scheduler cancelled because its dependency can never be met
// shows that reason in the queue, as nai job status does, not the
// "cancelled" of its exit reason; a user's cancel still shows "cancelled".
func TestQueueReasonDependencyNeverSatisfied(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		reason string
		want   string
	}{
		{"cancelled by the scheduler", structs.WaitDependencyNeverSatisfied().Reason, "DependencyNeverSatisfied"},
		{"cancelled by its user", "cancelled by user", "cancelled"},
	} {
		// As the state store leaves a cancelled pending job (cancelledCopy).
		j := &structs.Job{ID: "7", Name: "child", Status: structs.JobCancelled, ExitReason: structs.ExitCancelled,
			Reason: tc.reason, EndTime: now}
		if got := QueueReason(j, now); got != tc.want {
			t.Errorf("%s: reason cell %q, want %q", tc.name, got, tc.want)
		}
	}
}
