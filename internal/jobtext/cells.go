package jobtext

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nai-project/nai/structs"
)

// ShortID is the first 8 characters of a long id (node ids are UUIDs).
func ShortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// Clock formats a duration the way squeue's TIME column does: M:SS,
// H:MM:SS, or D-HH:MM:SS.
func Clock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	days, s := s/86400, s%86400
	h, s := s/3600, s%3600
	m, s := s/60, s%60
	switch {
	case days > 0:
		return fmt.Sprintf("%d-%02d:%02d:%02d", days, h, m, s)
	case h > 0:
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

// ShortTime is a compact time for table cells: "15:04" today, else with
// the date.
func ShortTime(t, now time.Time) string {
	t = t.In(now.Location())
	ny, nm, nd := now.Date()
	y, m, d := t.Date()
	switch {
	case y == ny && m == nm && d == nd:
		return t.Format("15:04")
	case y == ny:
		return t.Format("Jan 2 15:04")
	}
	return t.Format("2006-01-02 15:04")
}

// Ranges folds sorted-or-not indices into "0-3,5,7-8".
func Ranges(idx []int) string {
	idx = slices.Clone(idx)
	slices.Sort(idx)
	idx = slices.Compact(idx)
	var parts []string
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(idx[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", idx[i], idx[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// NodeLabel names the node a job runs on, by name when the server gave
// one.
func NodeLabel(j *structs.Job) string {
	switch {
	case j.NodeName != "":
		return j.NodeName
	case j.NodeID != "":
		return ShortID(j.NodeID)
	}
	return "-"
}

// GPURequest is the GPUS cell: the count per node, "NxG" for a gang.
func GPURequest(r structs.Resources) string {
	if r.Nodes > 1 {
		return strconv.Itoa(r.Nodes) + "x" + strconv.Itoa(r.GPU.Count)
	}
	return strconv.Itoa(r.GPU.Count)
}

// ExitSummary says how a finished job ended: "exit code 3", "oom-killed
// (exit code 137)", "cancelled", or the server's reason, Printable: a
// reason can quote what the job or its user wrote.
func ExitSummary(j *structs.Job) string {
	code := ""
	if j.ExitCode != nil {
		code = fmt.Sprintf("exit code %d", *j.ExitCode)
	}
	switch {
	case j.ExitReason == "" || j.ExitReason == structs.ExitExited:
		if code != "" {
			return code
		}
	case code != "":
		return fmt.Sprintf("%s (%s)", j.ExitReason, code)
	default:
		return string(j.ExitReason)
	}
	return Printable(j.Reason)
}

// Runtime is how long the job has run (so far, or in all).
func Runtime(j *structs.Job, now time.Time) (time.Duration, bool) {
	switch {
	case j.StartTime.IsZero():
		return 0, false
	case !j.EndTime.IsZero():
		return j.EndTime.Sub(j.StartTime), true
	case j.Status == structs.JobRunning:
		return now.Sub(j.StartTime), true
	}
	return 0, false
}

// OrDash is s, or "-" for an empty cell.
func OrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
