package state

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/structs"
)

// The usage table: one row per day, user and group (usage.go in structs).
// Allocations add their GPU and CPU time when they end, jobs count
// themselves when they end, and job GC removes finished jobs whose usage
// is already here, so the live tables stay bounded however long the
// cluster runs.
const (
	tableUsage = "usage"
	TableUsage = tableUsage
)

func usageTableDef() tableDef {
	return def[structs.UsageRow](&memdb.TableSchema{
		Name: tableUsage,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: usageKey{}},
		},
	})
}

// usageKey indexes rows by day, user and group, any of which may be empty
// (memdb's string indexes treat an empty field as missing).
type usageKey struct{}

func (usageKey) FromObject(obj any) (bool, []byte, error) {
	r, ok := obj.(*structs.UsageRow)
	if !ok {
		return false, nil, fmt.Errorf("usage index: unexpected %T", obj)
	}
	return true, []byte(r.Day + "\x00" + r.User + "\x00" + r.Group + "\x00"), nil
}

func (usageKey) FromArgs(args ...any) ([]byte, error) {
	var b strings.Builder
	for _, a := range args {
		s, ok := a.(string)
		if !ok {
			return nil, fmt.Errorf("usage index arguments are strings, got %T", a)
		}
		b.WriteString(s + "\x00")
	}
	return []byte(b.String()), nil
}

func (usageKey) PrefixFromArgs(args ...any) ([]byte, error) { return usageKey{}.FromArgs(args...) }

// usageRow returns a copy of the row to change, or a new one.
func usageRow(txn *memdb.Txn, day, user, group string) (*structs.UsageRow, error) {
	old, err := first[structs.UsageRow](txn, nil, tableUsage, "id", day, user, group)
	if err != nil {
		return nil, err
	}
	if old != nil {
		return old.Copy(), nil
	}
	return &structs.UsageRow{Day: day, User: user, Group: group}, nil
}

func putUsage(txn *memdb.Txn, index uint64, r *structs.UsageRow) error {
	r.ModifyIndex = index
	if err := txn.Insert(tableUsage, r); err != nil {
		return fmt.Errorf("write usage of %s %s on %s: %w", r.User, r.Group, r.Day, err)
	}
	return bumpIndex(txn, tableUsage, index)
}

// daySpans splits [start, end) over the UTC days it touches, calling fn
// with each day and the seconds that fall in it.
func daySpans(start, end time.Time, fn func(day string, seconds float64) error) error {
	start, end = start.UTC(), end.UTC()
	for start.Before(end) {
		next := time.Date(start.Year(), start.Month(), start.Day()+1, 0, 0, 0, 0, time.UTC)
		stop := end
		if next.Before(end) {
			stop = next
		}
		if err := fn(start.Format(structs.UsageDayFormat), stop.Sub(start).Seconds()); err != nil {
			return err
		}
		start = stop
	}
	return nil
}

// allocSpan is when an allocation held its resources: from the client's
// start (or its creation) to its end.
func allocSpan(a *structs.Allocation) (time.Time, time.Time, bool) {
	start := a.ClientStatus.StartTime
	if start.IsZero() {
		return time.Time{}, time.Time{}, false // it never ran
	}
	end := a.ClientStatus.EndTime
	if end.Before(start) {
		end = start
	}
	return start, end, true
}

// accountAlloc adds an ended allocation's use to the rows of its days.
func accountAlloc(txn *memdb.Txn, index uint64, a *structs.Allocation, j *structs.Job) error {
	start, end, ok := allocSpan(a)
	if !ok || j == nil {
		return nil
	}
	total := end.Sub(start).Seconds()
	var used float64
	if a.ClientStatus.Usage != nil {
		used = a.ClientStatus.Usage.CPUSeconds
	}
	cpu := a.Resources.CPU
	if cpu == 0 {
		cpu = j.Resources.CPU
	}
	return daySpans(start, end, func(day string, s float64) error {
		r, err := usageRow(txn, day, j.User, j.Group)
		if err != nil {
			return err
		}
		r.GPUSeconds += float64(len(a.GPUs)) * s
		r.CPUSeconds += cpu * s
		if total > 0 {
			r.CPUUsedSeconds += used * s / total
		}
		return putUsage(txn, index, r)
	})
}

// countJobEnd counts a job that has just ended on the day it ended.
func countJobEnd(txn *memdb.Txn, index uint64, j *structs.Job, now time.Time) error {
	end := j.EndTime
	if end.IsZero() {
		end = now
	}
	r, err := usageRow(txn, end.UTC().Format(structs.UsageDayFormat), j.User, j.Group)
	if err != nil {
		return err
	}
	if r.Jobs == nil {
		r.Jobs = map[structs.JobStatus]int{}
	}
	r.Jobs[j.Status]++
	return putUsage(txn, index, r)
}

// jobEnds counts jobs that end in one transaction by usage row, and writes
// each row once: cancelling a sweep's members copied and wrote the same
// row (its map of counts included) once a member.
type jobEnds struct {
	rows    map[endKey]*structs.UsageRow
	lastEnd time.Time
	lastDay string
}

type endKey struct{ day, user, group string }

// count is countJobEnd for j, kept until flush.
func (e *jobEnds) count(txn *memdb.Txn, j *structs.Job, now time.Time) error {
	end := j.EndTime
	if end.IsZero() {
		end = now
	}
	if e.lastDay == "" || !end.Equal(e.lastEnd) {
		e.lastEnd, e.lastDay = end, end.UTC().Format(structs.UsageDayFormat)
	}
	k := endKey{e.lastDay, j.User, j.Group}
	r, ok := e.rows[k]
	if !ok {
		var err error
		if r, err = usageRow(txn, k.day, k.user, k.group); err != nil {
			return err
		}
		if r.Jobs == nil {
			r.Jobs = map[structs.JobStatus]int{}
		}
		if e.rows == nil {
			e.rows = map[endKey]*structs.UsageRow{}
		}
		e.rows[k] = r
	}
	r.Jobs[j.Status]++
	return nil
}

// flush writes the rows counted, in key order, and forgets them. Nothing
// else may write those rows in between (flush first).
func (e *jobEnds) flush(txn *memdb.Txn, index uint64) error {
	keys := slices.SortedFunc(maps.Keys(e.rows), func(a, b endKey) int {
		return cmp.Or(strings.Compare(a.day, b.day), strings.Compare(a.user, b.user), strings.Compare(a.group, b.group))
	})
	for _, k := range keys {
		if err := putUsage(txn, index, e.rows[k]); err != nil {
			return err
		}
		delete(e.rows, k)
	}
	return nil
}

// noteJobWrite counts j when this write ends it (it was not terminal in
// txn before).
func noteJobWrite(txn *memdb.Txn, index uint64, j *structs.Job, now time.Time) error {
	if !j.Status.Terminal() {
		return nil
	}
	old, err := jobByID(txn, nil, j.ID)
	if err != nil {
		return err
	}
	if old != nil && old.Status.Terminal() {
		return nil
	}
	return countJobEnd(txn, index, j, now)
}

// GCJobs removes finished jobs that ended before req.Before, oldest id
// first, with their allocations; their usage moves to the rows' archived
// part. Jobs that live jobs depend on stay, so a dependency is never left
// dangling: for a dependency on a job array's id, every member (the
// scheduler waits for them all, and afternotok needs the one that failed).
func (s *Store) GCJobs(index uint64, req *structs.JobGCRequest) (*structs.JobGCResponse, error) {
	if req == nil {
		return nil, structs.NewError(structs.CodeInvalid, "job gc: empty request")
	}
	if err := req.Validate(); err != nil {
		return nil, structs.NewError(structs.CodeInvalid, "%v", err)
	}
	out := &structs.JobGCResponse{}
	err := s.write(func(txn *memdb.Txn) error {
		needed := map[string]bool{}
		live, err := liveJobs(txn, func(*structs.Job) bool { return true })
		if err != nil {
			return err
		}
		arrays := map[string]bool{}
		for _, j := range live {
			for _, d := range j.DependsOn {
				needed[d.JobID] = true
				if req.KeepArrayMembers && !d.Member && !arrays[d.JobID] {
					arrays[d.JobID] = true
					members, err := jobsOfArray(txn, nil, d.JobID)
					if err != nil {
						return err
					}
					for _, m := range members {
						needed[m.ID] = true
					}
				}
			}
		}
		var victims []*structs.Job
		for _, st := range []structs.JobStatus{structs.JobComplete, structs.JobFailed, structs.JobCancelled, structs.JobLost} {
			js, err := list[structs.Job](txn, nil, tableJobs, "status", string(st))
			if err != nil {
				return err
			}
			for _, j := range js {
				if !j.EndTime.IsZero() && j.EndTime.Before(req.Before) && !needed[j.ID] {
					victims = append(victims, j)
				}
			}
		}
		slices.SortFunc(victims, func(a, b *structs.Job) int { return compareIDs(a.ID, b.ID) })
		if len(victims) > req.Max {
			victims = victims[:req.Max]
		}
		for _, j := range victims {
			allocs, err := allocsOfJob(txn, nil, j.ID)
			if err != nil {
				return err
			}
			for _, a := range allocs {
				if err := archiveAlloc(txn, index, a, j); err != nil {
					return err
				}
				if err := txn.Delete(tableAllocs, a); err != nil {
					return fmt.Errorf("gc alloc %s: %w", a.ID, err)
				}
				// An allocation still live leaves its node's list here:
				// the node's poll must see that.
				if !a.Terminal() {
					gone := a.Copy()
					gone.ModifyIndex, gone.ServerIndex = index, index
					if err := noteAllocEnd(txn, gone); err != nil {
						return err
					}
				}
				out.Allocs++
			}
			if err := txn.Delete(tableJobs, j); err != nil {
				return fmt.Errorf("gc job %s: %w", j.ID, err)
			}
			out.Jobs++
		}
		if out.Jobs == 0 {
			return nil
		}
		if err := bumpIndex(txn, tableJobs, index); err != nil {
			return err
		}
		if out.Allocs > 0 {
			return bumpIndex(txn, tableAllocs, index)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// archiveAlloc moves an allocation's GPU time to the archived part of its
// days' rows (it was counted when it ended).
func archiveAlloc(txn *memdb.Txn, index uint64, a *structs.Allocation, j *structs.Job) error {
	start, end, ok := allocSpan(a)
	if !ok || !a.Terminal() || len(a.GPUs) == 0 {
		return nil
	}
	return daySpans(start, end, func(day string, s float64) error {
		r, err := usageRow(txn, day, j.User, j.Group)
		if err != nil {
			return err
		}
		r.ArchivedGPUSeconds += float64(len(a.GPUs)) * s
		return putUsage(txn, index, r)
	})
}

// compareIDs orders dotted decimal ids numerically.
func compareIDs(a, b string) int {
	ka, _ := encodeNumericID(a)
	kb, _ := encodeNumericID(b)
	return strings.Compare(string(ka), string(kb))
}

// UsageRows returns the rows of days in [since, until] (UTC dates), by day,
// user and group.
func (sn *Snapshot) UsageRows(since, until time.Time) ([]*structs.UsageRow, error) {
	all, err := list[structs.UsageRow](sn.txn, nil, tableUsage, "id")
	if err != nil {
		return nil, err
	}
	from := since.UTC().Format(structs.UsageDayFormat)
	to := until.UTC().Format(structs.UsageDayFormat)
	var out []*structs.UsageRow
	for _, r := range all {
		if (since.IsZero() || r.Day >= from) && (until.IsZero() || r.Day <= to) {
			out = append(out, r)
		}
	}
	return out, nil
}
