package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

// confirmAbove is how many jobs one cancel may stop without asking.
const confirmAbove = 10

// cancelTarget is one DELETE to send: a job, or a whole sweep by its id.
type cancelTarget struct {
	ref   string // as the person named it: 12, 12_3, or the id of a selected job
	id    string // the id the servers know
	jobs  int    // how many jobs it stops (the live members of a sweep)
	whole bool   // the id of a sweep, cancelling every member
	only  bool   // member 0 of a sweep alone (its id is the sweep's)
	// ended is set when every job the target names had ended as the CLI
	// looked them up: what to report when the servers' answer does not
	// say (an agent of an earlier release).
	ended []structs.EndedJob
}

// cancelProblem is an id that was not cancelled, and why.
type cancelProblem struct {
	Ref   string `json:"ref"`
	Error string `json:"error"`
}

// cancelReport is what `nai job cancel -json` prints.
type cancelReport struct {
	Cancelled []cancelledJob `json:"cancelled"`
	// Ended lists the jobs named that had already ended: nothing was
	// cancelled for them, and their state is as it was.
	Ended    []endedJob      `json:"ended"`
	NotFound []string        `json:"not_found"`
	Failed   []cancelProblem `json:"failed"`
}

type cancelledJob struct {
	Ref   string `json:"ref"`
	JobID string `json:"job_id"`
	Jobs  int    `json:"jobs"`
}

// endedJob is a job named (by Ref: itself, or its sweep) that had ended.
type endedJob struct {
	Ref    string            `json:"ref"`
	JobID  string            `json:"job_id"`
	Status structs.JobStatus `json:"status"`
}

// settle records what became of target t. stopped is how many jobs the
// servers stopped and ended those that had already ended, when known is
// set; an agent of an earlier release says neither (known false), and the
// CLI's own look at the jobs decides.
func (rep *cancelReport) settle(t cancelTarget, known bool, stopped int, ended []structs.EndedJob) {
	if !known {
		stopped, ended = t.jobs, t.ended
		if len(t.ended) > 0 {
			stopped = 0
		}
	}
	if stopped > 0 {
		rep.Cancelled = append(rep.Cancelled, cancelledJob{Ref: t.ref, JobID: t.id, Jobs: stopped})
		return
	}
	for _, e := range ended {
		rep.Ended = append(rep.Ended, endedJob{Ref: t.ref, JobID: e.JobID, Status: e.Status})
	}
}

func jobCancel(c *cli.Context) error {
	args := c.Args().Slice()
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	filter, err := readFilter(c, cl)
	if err != nil {
		return err
	}
	if len(args) == 0 && filter.empty() {
		return &usageError{msg: "missing job ID (or a selection such as -u USER)", usage: usageLine(c)}
	}
	for _, a := range args {
		if _, _, _, err := memberRef(a); err != nil && !strings.Contains(a, "_[") {
			return &usageError{msg: err.Error(), usage: usageLine(c)}
		}
		if _, _, _, err := parseMemberSet(a); err != nil {
			return &usageError{msg: err.Error(), usage: usageLine(c)}
		}
	}
	rep := &cancelReport{Cancelled: []cancelledJob{}, Ended: []endedJob{}, NotFound: []string{}, Failed: []cancelProblem{}}
	var targets []cancelTarget
	if len(args) > 0 {
		targets, err = targetsOfRefs(c.Context, cl, args, filter, rep)
	} else {
		targets, err = targetsOfSelection(c.Context, cl, filter, rep)
	}
	if err != nil {
		return err
	}
	if len(targets) == 0 && len(args) == 0 {
		if err := checkUsersKnown(c.Context, cl, filter); err != nil {
			return err
		}
		if !c.Bool("json") {
			fmt.Fprintln(c.App.ErrWriter, "No pending or running jobs match: nothing cancelled.")
		}
	}
	total := 0
	for _, t := range targets {
		if t.ended == nil { // a job that has ended is not worth asking about
			total += t.jobs
		}
	}
	if total > confirmAbove && !c.Bool("yes") {
		ok, err := confirm(c, fmt.Sprintf("Cancel %d jobs (%s)?", total, refList(targets)))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("nothing cancelled")
		}
	}
	if len(targets) > 1 {
		done, err := cancelMany(c.Context, cl, targets, rep)
		if err != nil {
			return err
		}
		if done {
			return printCancelReport(c, rep)
		}
	}
	for _, t := range targets {
		resp, err := cl.CancelJob(c.Context, t.id, t.only)
		if err != nil {
			if api.IsNotFound(err) {
				rep.NotFound = append(rep.NotFound, t.ref)
			} else {
				rep.Failed = append(rep.Failed, cancelProblem{Ref: t.ref, Error: err.Error()})
			}
			continue
		}
		// A current agent always lists the jobs as cancelled or ended.
		known := len(resp.Cancelled)+len(resp.Ended) > 0
		rep.settle(t, known, len(resp.Cancelled), resp.Ended)
	}
	return printCancelReport(c, rep)
}

// cancelMany sends every target in one request (one raft commit on the
// servers, like scancel of a selection). It returns false, with nothing
// done, when the agent is of a release without bulk cancel, or when some
// target may not be cancelled by this caller (the servers then refuse the
// whole request): the caller then cancels one by one, which cancels the
// others and reports each refusal.
func cancelMany(ctx context.Context, cl *api.Client, targets []cancelTarget, rep *cancelReport) (bool, error) {
	req := make([]structs.CancelTarget, len(targets))
	for i, t := range targets {
		req[i] = structs.CancelTarget{ID: t.id, Only: t.only}
	}
	resp, err := cl.CancelMany(ctx, req)
	switch {
	case api.IsNotFound(err), api.IsForbidden(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("cancel %d jobs: %w", len(targets), err)
	}
	missing := map[string]bool{}
	for _, id := range resp.NotFound {
		missing[id] = true
	}
	stopped := map[string]bool{}
	for _, id := range resp.Cancelled {
		stopped[id] = true
	}
	ended := map[string][]structs.EndedJob{}
	for _, e := range resp.Ended {
		ended[e.Target] = append(ended[e.Target], e)
	}
	// An agent of an earlier release sends no "ended" and lists every
	// target found as cancelled.
	known := resp.Ended != nil
	for _, t := range targets {
		switch {
		case missing[t.id]:
			rep.NotFound = append(rep.NotFound, t.ref)
		case known && stopped[t.id]:
			rep.settle(t, true, max(1, t.jobs), nil)
		default:
			rep.settle(t, known, 0, ended[t.id])
		}
	}
	return true, nil
}

func printCancelReport(c *cli.Context, rep *cancelReport) error {
	if c.Bool("json") {
		if err := printJSON(c.App.Writer, rep); err != nil {
			return err
		}
	} else {
		w := c.App.Writer
		jobs := 0
		for _, t := range rep.Cancelled {
			jobs += t.Jobs
			switch {
			case t.Jobs > 1:
				fmt.Fprintf(w, "Cancel requested for job array %s (%d jobs).\n", t.Ref, t.Jobs)
			case t.Ref != t.JobID:
				fmt.Fprintf(w, "Cancel requested for job %s (job %s).\n", t.Ref, t.JobID)
			default:
				fmt.Fprintf(w, "Cancel requested for job %s.\n", t.Ref)
			}
		}
		refs := endedRefs(rep.Ended)
		if jobs > 0 {
			// Something was cancelled: the rest is worth a line each, not
			// an error.
			for _, ref := range refs {
				fmt.Fprintf(w, "%s; nothing to cancel.\n", capitalize(endedWords(ref, rep.Ended)))
			}
		}
		switch {
		case jobs > 0 && len(rep.Ended) > 0:
			fmt.Fprintf(w, "%s cancelled, %d already ended.\n", capitalize(plural(jobs, "job")), len(rep.Ended))
		case len(rep.Cancelled) > 1:
			fmt.Fprintf(w, "%s cancelled.\n", capitalize(plural(jobs, "job")))
		}
		for _, p := range rep.Failed {
			fmt.Fprintf(c.App.ErrWriter, "Could not cancel %s: %s\n", p.Ref, p.Error)
		}
	}
	var problems []string
	if len(rep.Ended) > 0 && !slices.ContainsFunc(rep.Cancelled, func(t cancelledJob) bool { return t.Jobs > 0 }) {
		// Nothing was cancelled: as scancel, say why and fail.
		problems = append(problems, endedProblem(rep.Ended))
	}
	switch len(rep.NotFound) {
	case 0:
	case 1:
		problems = append(problems, fmt.Sprintf("job %s not found", rep.NotFound[0]))
	default:
		problems = append(problems, fmt.Sprintf("jobs %s not found", strings.Join(rep.NotFound, ", ")))
	}
	if len(rep.Failed) > 0 {
		problems = append(problems, plural(len(rep.Failed), "job")+" not cancelled")
	}
	if len(problems) == 0 {
		return nil
	}
	return errors.New(strings.Join(problems, "; "))
}

// endedRefs is the refs of the ended jobs, in order, each once.
func endedRefs(ended []endedJob) []string {
	var refs []string
	for _, e := range ended {
		if !slices.Contains(refs, e.Ref) {
			refs = append(refs, e.Ref)
		}
	}
	return refs
}

// endedWords says that ref had ended: "job 12 already ended (complete)",
// "job array 20 already ended (4 jobs: 3 complete, 1 failed)".
func endedWords(ref string, ended []endedJob) string {
	var jobs []endedJob
	for _, e := range ended {
		if e.Ref == ref {
			jobs = append(jobs, e)
		}
	}
	if len(jobs) == 1 {
		return fmt.Sprintf("job %s already ended (%s)", ref, jobs[0].Status)
	}
	return fmt.Sprintf("job array %s already ended (%s)", ref, statusCounts(jobs))
}

// statusCounts is "4 jobs, all complete" or "4 jobs: 3 complete, 1 failed".
func statusCounts(jobs []endedJob) string {
	var order []structs.JobStatus
	n := map[structs.JobStatus]int{}
	for _, j := range jobs {
		if n[j.Status] == 0 {
			order = append(order, j.Status)
		}
		n[j.Status]++
	}
	if len(order) == 1 {
		return fmt.Sprintf("%s, all %s", plural(len(jobs), "job"), order[0])
	}
	parts := make([]string, len(order))
	for i, st := range order {
		parts[i] = fmt.Sprintf("%d %s", n[st], st)
	}
	return fmt.Sprintf("%s: %s", plural(len(jobs), "job"), strings.Join(parts, ", "))
}

// endedProblem is the error of a cancel that found only ended jobs:
// "job 12 already ended (complete); nothing to cancel".
func endedProblem(ended []endedJob) string {
	refs := endedRefs(ended)
	if len(refs) == 1 {
		return endedWords(refs[0], ended) + "; nothing to cancel"
	}
	var parts []string
	for _, ref := range refs {
		w := endedWords(ref, ended)
		w = strings.TrimPrefix(w, "job array ")
		w = strings.TrimPrefix(w, "job ")
		parts = append(parts, strings.Replace(w, " already ended", "", 1))
	}
	if len(parts) > 8 {
		parts = append(parts[:8], fmt.Sprintf("and %d more", len(parts)-8))
	}
	return fmt.Sprintf("jobs %s already ended; nothing to cancel", strings.Join(parts, ", "))
}

// endedOf is what the CLI saw of jobs, all ended, as the servers would
// report them; nil when some job has not ended.
func endedOf(target string, jobs []*structs.Job) []structs.EndedJob {
	live, ended := structs.SplitEnded(target, jobs)
	if len(live) > 0 || len(jobs) == 0 {
		return nil
	}
	return ended
}

// targetsOfRefs resolves the ids the person typed. Ids that name nothing
// are added to rep.NotFound; the rest are checked against the selection
// flags when any were given.
func targetsOfRefs(ctx context.Context, cl *api.Client, refs []string, filter *jobFilter, rep *cancelReport) ([]cancelTarget, error) {
	var out []cancelTarget
	arrays := map[string][]*structs.Job{}
	membersOf := func(arr string) ([]*structs.Job, error) {
		if m, ok := arrays[arr]; ok {
			return m, nil
		}
		m, err := cl.ArrayJobs(ctx, arr)
		if err != nil && !api.IsNotFound(err) {
			return nil, err
		}
		arrays[arr] = m
		return m, nil
	}
	seen := map[string]bool{}
	add := func(t cancelTarget) {
		if !seen[t.id] {
			seen[t.id] = true
			out = append(out, t)
		}
	}
	for _, ref := range refs {
		if arr, spans, ok, _ := parseMemberSet(ref); ok {
			members, err := membersOf(arr)
			if err != nil {
				return nil, err
			}
			// A range picks the members numbered within it (task ids
			// may leave gaps, as --array=0-20:2 does) and is not found
			// only when it picks none.
			in := make([]bool, len(members))
			for _, s := range spans {
				found := false
				for i, m := range members {
					if t := m.ArrayTask(); t >= s.lo && t <= s.hi {
						in[i], found = true, true
					}
				}
				if !found {
					rep.NotFound = append(rep.NotFound, arr+"_"+s.String())
				}
			}
			var picked []*structs.Job
			for i, m := range members {
				if in[i] {
					picked = append(picked, m)
				}
			}
			for _, t := range memberTargets(arr, members, filter.apply(picked), rep) {
				add(t)
			}
			continue
		}
		if arr, idx, ok, _ := memberRef(ref); ok {
			members, err := membersOf(arr)
			if err != nil {
				return nil, err
			}
			m := memberAt(members, idx)
			if m == nil {
				rep.NotFound = append(rep.NotFound, ref)
				continue
			}
			for _, t := range memberTargets(arr, members, filter.apply([]*structs.Job{m}), rep) {
				add(t)
			}
			continue
		}
		j, _, err := cl.Job(ctx, ref)
		if api.IsNotFound(err) {
			rep.NotFound = append(rep.NotFound, ref)
			continue
		}
		if err != nil {
			return nil, err
		}
		if j.ArrayID != "" && j.ArrayID == j.ID {
			// The array id: the servers cancel every member.
			members, err := membersOf(j.ArrayID)
			if err != nil {
				return nil, err
			}
			if filter.empty() {
				add(cancelTarget{ref: ref, id: j.ID, jobs: max(1, len(live(members))), whole: true, ended: endedOf(j.ID, members)})
				continue
			}
			for _, t := range memberTargets(j.ArrayID, members, filter.apply(live(members)), rep) {
				add(t)
			}
			continue
		}
		if filter.match(j) {
			add(cancelTarget{ref: ref, id: j.ID, jobs: 1, ended: endedOf(j.ID, []*structs.Job{j})})
		}
	}
	return out, nil
}

// targetsOfSelection picks the pending and running jobs the selection
// matches (or those in the states it names).
func targetsOfSelection(ctx context.Context, cl *api.Client, filter *jobFilter, rep *cancelReport) ([]cancelTarget, error) {
	jobs, err := cl.Jobs(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	var out []cancelTarget
	byArray := map[string][]*structs.Job{}
	var arrays []string
	for _, j := range filter.apply(jobs) {
		if j.ArrayID == "" {
			out = append(out, cancelTarget{ref: j.ID, id: j.ID, jobs: 1})
			continue
		}
		if _, ok := byArray[j.ArrayID]; !ok {
			arrays = append(arrays, j.ArrayID)
		}
		byArray[j.ArrayID] = append(byArray[j.ArrayID], j)
	}
	for _, arr := range arrays {
		var members []*structs.Job
		for _, j := range jobs {
			if j.ArrayID == arr {
				members = append(members, j)
			}
		}
		out = append(out, memberTargets(arr, members, byArray[arr], rep)...)
	}
	return out, nil
}

// memberTargets cancels picked members of a sweep. Member 0 has the
// sweep's own id: when every live member is picked the sweep is cancelled
// whole, else member 0 is cancelled alone (DELETE ...?only=true).
func memberTargets(arr string, members, picked []*structs.Job, rep *cancelReport) []cancelTarget {
	alive := live(members)
	if len(alive) > 1 && len(picked) >= len(alive) && !slices.ContainsFunc(alive, func(m *structs.Job) bool {
		return !slices.Contains(picked, m)
	}) {
		return []cancelTarget{{ref: arr, id: arr, jobs: len(alive), whole: true}}
	}
	var out []cancelTarget
	for _, m := range picked {
		out = append(out, cancelTarget{ref: m.ArrayRef(), id: m.ID, jobs: 1, only: m.ID == arr, ended: endedOf(m.ID, []*structs.Job{m})})
	}
	return out
}

// live is the members still pending or running.
func live(jobs []*structs.Job) []*structs.Job {
	var out []*structs.Job
	for _, j := range jobs {
		if !j.Status.Terminal() {
			out = append(out, j)
		}
	}
	return out
}

func refList(ts []cancelTarget) string {
	var refs []string
	for _, t := range ts {
		refs = append(refs, t.ref)
	}
	if len(refs) > 8 {
		refs = append(refs[:8], fmt.Sprintf("and %d more", len(refs)-8))
	}
	return strings.Join(refs, ", ")
}

// confirm asks a yes/no question on the terminal. Without one (a script, a
// pipe) nothing is read and the answer is no, with a hint at -yes.
func confirm(c *cli.Context, question string) (bool, error) {
	in := c.App.Reader
	if f, ok := in.(*os.File); !ok || !isTerminal(f) {
		if ok {
			return false, fmt.Errorf("%s: there is no terminal to ask on; add -yes to go ahead", strings.TrimSuffix(question, "?"))
		}
		// A reader that is not a file is a test's (or an embedder's) input.
	}
	fmt.Fprintf(c.App.ErrWriter, "%s [y/N] ", question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && err != io.EOF {
		return false, fmt.Errorf("read the answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}
