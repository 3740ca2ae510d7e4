package main

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/structs"
)

// Job references as Slurm users type them: "12" (a job, or a whole
// sweep), "12_3" (member 3 of sweep 12) and, where several jobs are
// meant, "12_[2-5,7]". A member's number is its Slurm task id in an array
// submitted with --array=1-8 (12_3 has SLURM_ARRAY_TASK_ID 3), and its
// index (0 to n-1) in a sweep block's: structs.Job.ArrayTask.

// memberRef splits "12_3" into the array id and member number; ok is
// false for a plain id.
func memberRef(ref string) (array string, index int, ok bool, err error) {
	a, idx, found := strings.Cut(ref, "_")
	if !found {
		return "", 0, false, nil
	}
	n, perr := strconv.Atoi(idx)
	if a == "" || perr != nil || n < 0 || strconv.Itoa(n) != idx {
		return "", 0, false, fmt.Errorf("job %q: expected an id (12) or an array member (12_3)", ref)
	}
	return a, n, true, nil
}

// resolveJob turns a job id or an array member ("12_3") into the id the
// servers know the job by.
func resolveJob(ctx context.Context, cl *api.Client, ref string) (string, error) {
	arr, idx, ok, err := memberRef(ref)
	if err != nil || !ok {
		return ref, err
	}
	members, err := cl.ArrayJobs(ctx, arr)
	if err != nil {
		return "", err
	}
	if m := memberAt(members, idx); m != nil {
		return m.ID, nil
	}
	return "", noMemberError(arr, idx, members)
}

// memberAt is the member whose number (ArrayTask) is n, or nil.
func memberAt(members []*structs.Job, n int) *structs.Job {
	for _, m := range members {
		if m.ArrayTask() == n {
			return m
		}
	}
	return nil
}

func noMemberError(arr string, idx int, members []*structs.Job) error {
	var have []int
	for _, m := range members {
		have = append(have, m.ArrayTask())
	}
	return structs.NewError(structs.CodeNotFound, "job array %s has no member %d (members %s)", arr, idx, jobtext.Ranges(have))
}

// refArg reads the one positional argument of a job command, a job id or
// an array member, and resolves it.
func refArg(c *cli.Context, cl *api.Client) (ref, id string, err error) {
	ref, err = oneID(c)
	if err != nil {
		return "", "", err
	}
	if _, _, _, err := memberRef(ref); err != nil {
		return "", "", &usageError{msg: err.Error(), usage: usageLine(c)}
	}
	id, err = resolveJob(c.Context, cl, ref)
	return ref, id, err
}

// oneJobRefArg is refArg for a command that reads one job's files (logs,
// outputs). The id of an array of several members, which `nai job status`
// takes for the whole array, is also its first member's job id, and reads
// that member's; a note on stderr says so and how to name another, so
// that the other members' are not taken for missing (stdout stays the
// job's own, for pipes and scripts that read members by their job ids).
func oneJobRefArg(c *cli.Context, cl *api.Client, what string) (ref, id string, err error) {
	ref, id, err = refArg(c, cl)
	if err != nil || strings.Contains(ref, "_") {
		return ref, id, err
	}
	// A failed look-up is left to the command's own request, which
	// says what went wrong in its terms.
	j, _, err := cl.Job(c.Context, id)
	if err != nil || j.ArrayID != j.ID {
		return ref, id, nil
	}
	members, err := cl.ArrayJobs(c.Context, j.ArrayID)
	if err != nil || len(members) < 2 {
		return ref, id, nil
	}
	nums := make([]int, len(members))
	for i, m := range members {
		nums[i] = m.ArrayTask()
	}
	more := ""
	if what == "outputs" {
		more = " (-all: every member's)"
	}
	fmt.Fprintf(c.App.ErrWriter, "Job %s is array %s of %d jobs (%s_[%s]): these are the %s of its first, %s; name another as %s_N%s.\n",
		ref, ref, len(members), ref, jobtext.Ranges(nums), what, j.ArrayRef(), ref, more)
	return ref, id, nil
}

// memberSpan is one item of a member set: lo-hi, or lo alone (hi == lo).
type memberSpan struct{ lo, hi int }

func (s memberSpan) String() string {
	if s.lo == s.hi {
		return strconv.Itoa(s.lo)
	}
	return fmt.Sprintf("[%d-%d]", s.lo, s.hi)
}

// parseMemberSet reads "12_[2-5,7]" into the array id and its spans of
// member numbers; ok is false when ref is not of that form.
func parseMemberSet(ref string) (array string, spans []memberSpan, ok bool, err error) {
	a, rest, found := strings.Cut(ref, "_[")
	if !found {
		return "", nil, false, nil
	}
	bad := fmt.Errorf("job %q: expected array members such as 12_[2-5,7]", ref)
	if a == "" || !strings.HasSuffix(rest, "]") {
		return "", nil, false, bad
	}
	for _, part := range strings.Split(strings.TrimSuffix(rest, "]"), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		l, err1 := strconv.Atoi(lo)
		h, err2 := l, error(nil)
		if isRange {
			h, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || l < 0 || h < l {
			return "", nil, false, bad
		}
		spans = append(spans, memberSpan{l, h})
	}
	return a, spans, true, nil
}

// jobFilter is the selection of `nai queue` and `nai job cancel`: jobs of
// some users, in some states, in some queues, with names matching a glob.
type jobFilter struct {
	users  []string
	states []structs.JobStatus
	queues []string
	names  []string
	// usersChecked is true when the servers' user list vouched for users
	// (ACLs on); without ACLs, checkUsersKnown asks the jobs instead.
	usersChecked bool
}

func (f *jobFilter) empty() bool {
	return len(f.users) == 0 && len(f.states) == 0 && len(f.queues) == 0 && len(f.names) == 0
}

func (f *jobFilter) match(j *structs.Job) bool {
	if len(f.users) > 0 && !slices.Contains(f.users, j.User) {
		return false
	}
	if len(f.states) > 0 && !slices.Contains(f.states, j.Status) {
		return false
	}
	if len(f.queues) > 0 && !slices.Contains(f.queues, j.Queue) {
		return false
	}
	if len(f.names) > 0 && !slices.ContainsFunc(f.names, func(g string) bool {
		ok, _ := path.Match(g, j.Name)
		return ok
	}) {
		return false
	}
	return true
}

// wantsFinished reports whether the selection names a finished state, so
// finished jobs must be listed too.
func (f *jobFilter) wantsFinished() bool {
	return slices.ContainsFunc(f.states, func(s structs.JobStatus) bool { return s.Terminal() })
}

func (f *jobFilter) apply(jobs []*structs.Job) []*structs.Job {
	var out []*structs.Job
	for _, j := range jobs {
		if f.match(j) {
			out = append(out, j)
		}
	}
	return out
}

// selectionFlags are the flags of a selection, like squeue's.
func selectionFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "u", Aliases: []string{"user"}, Usage: "only jobs of these `USERS` (comma-separated)"},
		&cli.BoolFlag{Name: "me", Usage: "only my jobs (the token's user; without ACLs, the local account)"},
		&cli.StringFlag{Name: "state", Aliases: []string{"t"}, Usage: "only jobs in these `STATES`: pending, running, complete, failed, cancelled, lost (or PD, R, CD, F, CA)"},
		&cli.StringFlag{Name: "queue", Aliases: []string{"p"}, Usage: "only jobs in these `QUEUES` (comma-separated)"},
		&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Usage: "only jobs whose name matches one of these `GLOBS` (comma-separated, such as 'sweep-*')"},
	}
}

// stateNames maps what people type to states, Slurm's codes included.
var stateNames = map[string]structs.JobStatus{
	"pending": structs.JobPending, "pd": structs.JobPending, "queued": structs.JobPending,
	"running": structs.JobRunning, "r": structs.JobRunning,
	"complete": structs.JobComplete, "completed": structs.JobComplete, "cd": structs.JobComplete,
	"failed": structs.JobFailed, "f": structs.JobFailed,
	"cancelled": structs.JobCancelled, "canceled": structs.JobCancelled, "ca": structs.JobCancelled,
	"lost": structs.JobLost, "nf": structs.JobLost,
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// readFilter reads the selection flags. Users are checked against the
// cluster: with ACLs on, a user the servers do not know is an error.
func readFilter(c *cli.Context, cl *api.Client) (*jobFilter, error) {
	f := &jobFilter{queues: splitList(c.String("queue")), names: splitList(c.String("name"))}
	for _, s := range splitList(c.String("state")) {
		st, ok := stateNames[strings.ToLower(s)]
		if !ok {
			return nil, &usageError{msg: fmt.Sprintf("-state %q is not a job state: expected pending, running, complete, failed, cancelled or lost", s), usage: usageLine(c)}
		}
		f.states = append(f.states, st)
	}
	for _, g := range f.names {
		if _, err := path.Match(g, ""); err != nil {
			return nil, &usageError{msg: fmt.Sprintf("-name %q is not a valid glob: %v", g, err), usage: usageLine(c)}
		}
	}
	users := splitList(c.String("u"))
	if c.Bool("me") && len(users) > 0 {
		return nil, &usageError{msg: "give -u USER or -me, not both", usage: usageLine(c)}
	}
	if len(users) == 0 && !c.Bool("me") {
		return f, nil
	}
	who, err := cl.TokenSelf(c.Context)
	if err != nil {
		return nil, fmt.Errorf("ask the servers who you are: %w", err)
	}
	if c.Bool("me") {
		switch {
		case who.ACLDisabled:
			users = []string{currentUser()}
		case who.User != nil:
			users = []string{who.User.Name}
		default:
			return nil, fmt.Errorf("-me: this token (%s) belongs to no user: name one with -u", tokenLabel(who.Token))
		}
	}
	if !who.ACLDisabled {
		for _, u := range users {
			if _, err := cl.User(c.Context, u); api.IsNotFound(err) {
				return nil, fmt.Errorf("user %q not found: `nai user list` shows the users", u)
			} else if err != nil && !api.IsForbidden(err) {
				return nil, fmt.Errorf("look up user %s: %w", u, err)
			}
		}
	}
	f.users, f.usersChecked = users, !who.ACLDisabled
	return f, nil
}

func tokenLabel(t *structs.Token) string {
	if t == nil {
		return "no token"
	}
	if t.Name != "" {
		return t.Name
	}
	return "accessor " + jobtext.ShortID(t.AccessorID)
}

// checkUsersKnown is the check for clusters without ACLs, which keep no
// list of users: a user who never submitted a job there is unknown. It is
// asked only when the selection matched nothing, so it costs a request
// only then.
func checkUsersKnown(ctx context.Context, cl *api.Client, f *jobFilter) error {
	if len(f.users) == 0 || f.usersChecked {
		return nil
	}
	all, err := cl.Jobs(ctx, true)
	if err != nil {
		return fmt.Errorf("list jobs: %w", err)
	}
	var unknown []string
	for _, u := range f.users {
		if !slices.ContainsFunc(all, func(j *structs.Job) bool { return j.User == u }) {
			unknown = append(unknown, u)
		}
	}
	switch len(unknown) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("user %q is unknown: no job on this cluster was submitted by %s", unknown[0], unknown[0])
	}
	return fmt.Errorf("users %s are unknown: no job on this cluster was submitted by them", strings.Join(unknown, ", "))
}
