package jobtext

import (
	"bufio"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nai-project/nai/structs"
)

// queueRow is one line of the queue: a job, or pending members of one
// sweep folded together like Slurm's 123_[4-9].
type queueRow struct {
	job     *structs.Job
	members []int // array task numbers (ArrayTask) folded into this row; nil for a single job
}

// foldQueue folds consecutive pending members of the same array that wait
// for the same reason, under the same name and with the same resources,
// into one row (members differ there after nai job update); running and
// finished members keep their own rows.
func foldQueue(jobs []*structs.Job) []queueRow {
	var rows []queueRow
	for _, j := range jobs {
		if j.ArrayID != "" && j.Status == structs.JobPending && len(rows) > 0 {
			last := &rows[len(rows)-1]
			p := last.job
			if p.ArrayID == j.ArrayID && p.Status == structs.JobPending && p.Reason == j.Reason &&
				p.Name == j.Name && p.Resources == j.Resources {
				if last.members == nil {
					last.members = []int{p.ArrayTask()}
				}
				last.members = append(last.members, j.ArrayTask())
				continue
			}
		}
		rows = append(rows, queueRow{job: j})
	}
	return rows
}

// queueHeader is the queue table's first line.
var queueHeader = [...]string{"ID", "NAME", "USER", "STATE", "GPUS", "NODE", "TIME", "REASON"}

// QueueTable writes the squeue-like table of jobs, in their order; an
// array's member is A_N (its task id), pending members that wait alike
// folded into A_[N-M]. TIME is
// the time used, as squeue's: how long a running job has run, 0:00 for a
// pending one, or a finished one's runtime. Columns are two spaces apart, as text/tabwriter
// would align them; the widths are counted here in one pass over the
// cells, which for thousands of jobs is several times faster than
// tabwriter's cell-by-cell writes.
func QueueTable(w io.Writer, jobs []*structs.Job, now time.Time) error {
	rows := foldQueue(jobs)
	cells := make([][len(queueHeader)]string, 0, len(rows)+1)
	cells = append(cells, queueHeader)
	for _, r := range rows {
		j := r.job
		id := j.ArrayRef() // a member alone is A_N, as squeue shows it
		if r.members != nil {
			id = j.ArrayID + "_[" + Ranges(r.members) + "]"
		}
		cells = append(cells, [len(queueHeader)]string{id, j.Name, OrDash(j.User), string(j.Status),
			GPURequest(j.Resources), NodeLabel(j), QueueTime(j, now), QueueReason(j, now)})
	}
	var width [len(queueHeader)]int
	for _, c := range cells {
		for i := range len(c) - 1 {
			width[i] = max(width[i], utf8.RuneCountInString(c[i]))
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	for _, c := range cells {
		for i, s := range c {
			bw.WriteString(s)
			if i == len(c)-1 {
				break
			}
			bw.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(s)+2))
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// QueueTime is the TIME cell.
func QueueTime(j *structs.Job, now time.Time) string {
	switch {
	case j.Status == structs.JobPending, j.Status == structs.JobRunning && j.StartTime.IsZero():
		// Time used, as squeue's TIME: none yet while waiting (or placed
		// and not started); how long it waited is not time used.
		return Clock(0)
	}
	if d, ok := Runtime(j, now); ok {
		return Clock(d)
	}
	return "-"
}

// QueueReason is the REASON cell: why a pending job waits (and when it
// may start), how a finished one ended; Printable, since a reason can
// quote user text (a rollback's reason, a client's message).
func QueueReason(j *structs.Job, now time.Time) string {
	switch {
	case j.Status == structs.JobPending:
		r := Printable(j.Reason)
		if !j.EstimatedStart.IsZero() {
			est := "est. start " + ShortTime(j.EstimatedStart, now)
			if r == "" {
				return est
			}
			r += " (" + est + ")"
		}
		return OrDash(r)
	case j.Status == structs.JobCancelled && j.Reason == neverSatisfied:
		// The scheduler cancelled it: a dependency can never be met. Its
		// exit reason says only "cancelled", as a user's cancel does;
		// the reason, which nai job status shows, says why.
		return j.Reason
	case j.Status.Terminal():
		return OrDash(ExitSummary(j))
	}
	return "-"
}

// neverSatisfied is the Reason of a job cancelled because a dependency
// can never be met.
var neverSatisfied = structs.WaitDependencyNeverSatisfied().Reason
