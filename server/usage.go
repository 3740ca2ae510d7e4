package server

import (
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/scheduler"
	"github.com/nai-project/nai/structs"
)

// Accounting (GET /v1/usage, `nai usage`) and job GC: finished jobs older
// than the threshold leave the live tables, their usage already folded
// into per-day rows, so raft state and server memory stay bounded however
// long the cluster runs.

// Defaults of job GC.
const (
	DefaultJobGCThreshold = 72 * time.Hour
	// jobGCBatch bounds one GC entry, so a backlog goes in bites.
	jobGCBatch = 5000
)

func (s *Server) jobGCThreshold() time.Duration {
	if s.cfg.JobGCThreshold > 0 {
		return s.cfg.JobGCThreshold
	}
	return DefaultJobGCThreshold
}

// jobGCInterval is how often the leader looks for finished jobs to drop.
func (s *Server) jobGCInterval() time.Duration {
	if s.cfg.JobGCInterval > 0 {
		return s.cfg.JobGCInterval
	}
	return min(max(s.jobGCThreshold()/8, time.Second), 5*time.Minute)
}

// startJobGC runs the leader's job GC until stop.
func (s *Server) startJobGC(stop chan struct{}) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(s.jobGCInterval())
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-s.shutdownCh:
				return
			case <-t.C:
			}
			s.gcJobs(stop)
		}
	}()
}

// gcJobs removes every finished job past the threshold, in batches.
func (s *Server) gcJobs(stop chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		now := time.Now().UTC()
		req := &structs.JobGCRequest{Before: now.Add(-s.jobGCThreshold()), Max: jobGCBatch, Now: now, KeepArrayMembers: true}
		if !fsm.Reads(s.logFormat(), fsm.JobGC) {
			return // a server not yet upgraded could not apply it
		}
		resp, _, err := s.apply(fsm.JobGC, req)
		if err != nil {
			s.logger.Error("job gc", "err", err)
			return
		}
		out, _ := resp.(*structs.JobGCResponse)
		if out == nil || out.Jobs == 0 {
			return
		}
		s.logger.Info("job gc: finished jobs left the live tables (their usage stays)", "jobs", out.Jobs, "allocations", out.Allocs)
		if out.Jobs < jobGCBatch {
			return
		}
	}
}

// archivedUsage is the fair-share usage of allocations job GC removed: each
// day's archived GPU time as one record centred on the day's noon.
func archivedUsage(snap *state.Snapshot) ([]scheduler.UsageRecord, error) {
	rows, err := snap.UsageRows(time.Time{}, time.Time{})
	if err != nil {
		return nil, err
	}
	var out []scheduler.UsageRecord
	for _, r := range rows {
		if r.ArchivedGPUSeconds <= 0 {
			continue
		}
		day, err := time.Parse(structs.UsageDayFormat, r.Day)
		if err != nil {
			continue
		}
		half := time.Duration(r.ArchivedGPUSeconds/2) * time.Second
		noon := day.Add(12 * time.Hour)
		out = append(out, scheduler.UsageRecord{User: r.User, Group: r.Group, GPUs: 1, Start: noon.Add(-half), End: noon.Add(half)})
	}
	return out, nil
}

// usageReport answers GET /v1/usage?since=30d&until=&user=&group=&by=day:
// GPU-hours, CPU-hours and jobs by final state, summed by day, user or
// group. Users see their own usage and that of the groups they are in;
// operators and management see everyone's.
func (s *Server) usageReport(r *request) (any, uint64, error) {
	q := r.URL.Query()
	now := time.Now().UTC()
	rep := &structs.UsageReport{By: structs.UsageBy(q.Get("by")), User: q.Get("user"), Group: q.Get("group"), Until: now}
	if rep.By == "" {
		rep.By = structs.UsageByDay
	}
	if err := rep.By.Validate(); err != nil {
		return nil, 0, structs.NewError(structs.CodeInvalid, "%v", err)
	}
	since := q.Get("since")
	if since == "" {
		since = "30d"
	}
	t, err := parseSince(since, now)
	if err != nil {
		return nil, 0, err
	}
	rep.Since = t
	if v := q.Get("until"); v != "" {
		u, err := parseSince(v, now)
		if err != nil {
			return nil, 0, err
		}
		rep.Until = u
	}
	if rep.Until.Before(rep.Since) {
		return nil, 0, structs.NewError(structs.CodeInvalid, "until %s is before since %s", rep.Until.Format(time.RFC3339), rep.Since.Format(time.RFC3339))
	}
	a := r.acl
	if a.Enabled() && !a.IsOperator() && !a.IsManagement() {
		switch {
		case rep.User != "" && rep.User != a.UserName():
			return nil, 0, structs.NewError(structs.CodeForbidden, "permission denied: the usage of user %s needs operator rights", rep.User)
		case rep.Group != "" && a.Role(rep.Group) == "":
			return nil, 0, structs.NewError(structs.CodeForbidden, "permission denied: the usage of group %s needs being a member of it", rep.Group)
		}
	}
	rows, err := r.snap.UsageRows(rep.Since, rep.Until)
	if err != nil {
		return nil, 0, err
	}
	lines := map[string]*structs.UsageLine{}
	rep.Total = structs.UsageLine{Key: "total", Jobs: map[structs.JobStatus]int{}}
	for _, row := range rows {
		if rep.User != "" && row.User != rep.User || rep.Group != "" && row.Group != rep.Group {
			continue
		}
		if a.Enabled() && !a.IsOperator() && !a.IsManagement() && row.User != a.UserName() && a.Role(row.Group) == "" {
			continue // lists show only what the caller may see
		}
		key := row.Day
		switch rep.By {
		case structs.UsageByUser:
			key = row.User
		case structs.UsageByGroup:
			key = row.Group
		}
		l := lines[key]
		if l == nil {
			l = &structs.UsageLine{Key: key, Jobs: map[structs.JobStatus]int{}}
			lines[key] = l
		}
		for _, x := range []*structs.UsageLine{l, &rep.Total} {
			x.GPUHours += row.GPUSeconds / 3600
			x.CPUHours += row.CPUSeconds / 3600
			x.CPUUsed += row.CPUUsedSeconds / 3600
			for st, n := range row.Jobs {
				x.Jobs[st] += n
			}
		}
	}
	keys := slices.Collect(maps.Keys(lines))
	sort.Strings(keys)
	rep.Lines = make([]structs.UsageLine, 0, len(keys))
	for _, k := range keys {
		rep.Lines = append(rep.Lines, *lines[k])
	}
	return rep, r.snap.TableIndex(state.TableUsage), nil
}
