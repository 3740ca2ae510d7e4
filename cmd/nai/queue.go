package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/structs"
	"github.com/urfave/cli/v2"
)

func queueCommand() *cli.Command { return queueCommandNamed("queue") }

// queueCommandNamed is `nai queue`, also reachable as `nai job list`.
func queueCommandNamed(name string) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     "list jobs in the order the scheduler considers them (like squeue)",
		ArgsUsage: "[-json | -format TEMPLATE] [-all] [-explain] [-u USERS | -me] [-state STATES] [-queue QUEUES] [-name GLOBS] [-jobs IDS]",
		Description: "-format prints each job through a Go template, one line per job, such as\n" +
			"  nai queue -format '{{.ID}} {{.Name}} {{.Status}} {{.User}}'\n" +
			"with the fields of the API's job object (nai job inspect ID shows them in JSON;\n" +
			"the template uses their Go names: ID, Name, User, Group, Queue, Status, Reason, NodeName, ...).\n" +
			"squeue's codes work too, without squeue's header line: nai queue -o '%.10i %.20j %.8u %.2t %.10M %R'\n" +
			"(%i id, %j name, %u user, %P queue, %T/%t state, %M time used, %l time limit, %L time left,\n" +
			"%D nodes, %C CPUs, %b GPUs, %m memory, %R reason or node, %r reason, %N node, %A job id\n" +
			"(not A_N), %F/%K array job id/task id (%K: N/A outside an array), %a account (group), %g group,\n" +
			"%Q priority, %V/%S/%e submit/start/end time, %o command, %% a percent sign).",
		Flags: append([]cli.Flag{
			jsonFlag(),
			&cli.StringFlag{Name: "format", Aliases: []string{"o"}, Usage: "print each job through this Go `TEMPLATE` (or squeue's %-codes), one line per job"},
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "include finished jobs"},
			&cli.StringFlag{Name: "jobs", Aliases: []string{"j"}, Usage: "only the jobs of these `IDS` (comma-separated; an array's id is all its members, 12_3 one member), finished ones too"},
			&cli.BoolFlag{Name: "explain", Usage: "add the priority factors of pending jobs (like sprio)"},
		}, append(selectionFlags(), addressFlag())...),
		Action: queueAction,
	}
}

func queueAction(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	var tmpl lineFormat
	if f := c.String("format"); f != "" {
		if c.Bool("json") || c.Bool("explain") {
			return &usageError{msg: "-format prints jobs alone: give it without -json and -explain", usage: usageLine(c)}
		}
		var err error
		if tmpl, err = parseQueueFormat(f, time.Now()); err != nil {
			return &usageError{msg: err.Error(), usage: usageLine(c)}
		}
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	filter, err := readFilter(c, cl)
	if err != nil {
		return err
	}
	ids, err := readJobIDs(c)
	if err != nil {
		return err
	}
	// Jobs named by id are shown whatever their state, as squeue -j does.
	all := c.Bool("all") || filter.wantsFinished() || ids != nil
	plain := tmpl == nil && !c.Bool("explain")
	if plain && filter.empty() && ids == nil {
		// The servers write the list or the table as it is printed:
		// copy it. A server of an older release refuses the view (and
		// wrote nothing): then the jobs are fetched and printed here.
		err := copyQueue(c, cl, all, c.Bool("json"))
		if structs.CodeOf(err) != structs.CodeInvalid {
			return err
		}
	}
	var jobs []*structs.Job
	if plain && !c.Bool("json") {
		// The table needs a row of each job, not the whole job.
		rows, err := cl.QueueRows(c.Context, all)
		if err != nil {
			return fmt.Errorf("list queue: %w", err)
		}
		jobs = make([]*structs.Job, len(rows))
		for i := range rows {
			jobs[i] = rows[i].Job()
		}
	} else if jobs, err = cl.Queue(c.Context, all); err != nil {
		return fmt.Errorf("list queue: %w", err)
	}
	jobs = filter.apply(jobs)
	if ids != nil {
		jobs = ids.apply(jobs)
	}
	if len(jobs) == 0 {
		if err := checkUsersKnown(c.Context, cl, filter); err != nil {
			return err
		}
	}
	switch {
	case tmpl != nil:
		return formatJobsTemplate(c.App.Writer, tmpl, jobs)
	case c.Bool("explain"):
		factors, err := cl.QueuePriority(c.Context)
		if err != nil {
			return fmt.Errorf("read priority factors: %w", err)
		}
		if c.Bool("json") {
			return printJSON(c.App.Writer, map[string]any{"jobs": orEmpty(jobs), "factors": factors})
		}
		return formatQueueExplain(c.App.Writer, jobs, factors, time.Now())
	case c.Bool("json"):
		return printJSON(c.App.Writer, orEmpty(jobs))
	}
	if len(jobs) == 0 && (!filter.empty() || ids != nil) {
		fmt.Fprintln(c.App.ErrWriter, "No jobs match.")
		return nil
	}
	return jobtext.QueueTable(c.App.Writer, jobs, time.Now())
}

// copyQueue prints the queue as the servers write it: with -json the
// jobs indented as printJSON would (?pretty=true), else the table
// (?view=table), without decoding and encoding thousands of jobs here.
func copyQueue(c *cli.Context, cl *api.Client, all, asJSON bool) error {
	get := cl.QueueTable
	if asJSON {
		get = cl.QueueJSON
	}
	body, err := get(c.Context, all)
	if err != nil {
		return err
	}
	defer body.Close()
	if _, err := io.Copy(c.App.Writer, body); err != nil {
		return fmt.Errorf("list queue: %w", err)
	}
	return nil
}

// orEmpty makes a nil list print as [] in JSON.
func orEmpty[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}

// parseFormat reads a -format template. As with docker and nomad, "\t"
// and "\n" written out in the flag stand for a tab and a newline.
func parseFormat(f string) (*template.Template, error) {
	f = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(f)
	t, err := template.New("format").Option("missingkey=error").Funcs(template.FuncMap{
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"join":  strings.Join,
		"upper": strings.ToUpper,
		"lower": strings.ToLower,
	}).Parse(f)
	if err != nil {
		return nil, fmt.Errorf("-format: %w", err)
	}
	return t, nil
}

// lineFormat prints one job: a text/template, or a squeueFormat.
type lineFormat interface {
	Execute(w io.Writer, data any) error
}

// parseQueueFormat reads -format: squeue's %-codes, or a Go template. A
// format with neither would print the same text for every job: refused.
func parseQueueFormat(f string, now time.Time) (lineFormat, error) {
	if isSqueueFormat(f) {
		return parseSqueueFormat(f, now)
	}
	if code := squeueCodeOutsideActions(f); code != "" {
		return nil, fmt.Errorf("-format %q mixes squeue's %%-codes (%s) with a Go template ({{...}}), and the codes would print as they are: use one language, such as '{{.ID}} {{.ExitCode}}' or '%%i %%T'", f, code)
	}
	if !strings.Contains(f, "{{") {
		return nil, fmt.Errorf("-format %q has no {{...}} field and no %%-code, so it would print the same line for every job: give a Go template such as '{{.ID}} {{.Name}}' or squeue's codes such as '%%i %%j %%T'", f)
	}
	t, err := parseFormat(f)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// jobIDs is -jobs (squeue's -j): jobs by id, "12" a job or every member
// of array 12, "12_3" one member.
type jobIDs struct {
	ids     []string
	members map[string][]int // array id -> task ids (structs.Job.ArrayTask)
}

func readJobIDs(c *cli.Context) (*jobIDs, error) {
	list := splitList(c.String("jobs"))
	if len(list) == 0 {
		return nil, nil
	}
	sel := &jobIDs{members: map[string][]int{}}
	for _, ref := range list {
		arr, idx, member, err := memberRef(ref)
		if err != nil {
			return nil, &usageError{msg: "-jobs: " + err.Error(), usage: usageLine(c)}
		}
		if member {
			sel.members[arr] = append(sel.members[arr], idx)
		} else {
			sel.ids = append(sel.ids, ref)
		}
	}
	return sel, nil
}

func (s *jobIDs) apply(jobs []*structs.Job) []*structs.Job {
	return slices.DeleteFunc(jobs, func(j *structs.Job) bool {
		if slices.Contains(s.ids, j.ID) || (j.ArrayID != "" && slices.Contains(s.ids, j.ArrayID)) {
			return false
		}
		return j.ArrayID == "" || !slices.Contains(s.members[j.ArrayID], j.ArrayTask())
	})
}

// formatJobsTemplate prints each job through the template, one per line.
func formatJobsTemplate(w io.Writer, t lineFormat, jobs []*structs.Job) error {
	var b bytes.Buffer
	for _, j := range jobs {
		if err := t.Execute(&b, j); err != nil {
			return fmt.Errorf("-format: %w", err)
		}
		if !bytes.HasSuffix(b.Bytes(), []byte("\n")) {
			b.WriteByte('\n')
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}
