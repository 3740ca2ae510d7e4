package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/structs"
)

// squeue's -o language, for `nai queue -format '%.18i %.8j %T'`: each
// %[.][SIZE]CODE prints one field of the job, at least SIZE wide (and
// truncated to it, as squeue does), right-justified with the dot.

// squeueCode is what one % code prints.
type squeueCode struct {
	what string // for the list of codes
	cell func(j *structs.Job, now time.Time) string
}

// squeueCodes are the codes of squeue's --format that nai's jobs have.
var squeueCodes = map[byte]squeueCode{
	// As squeue's: %i is A_N for an array's member, %A the job's own id,
	// %F the array's id (the job's id outside an array) and %K the
	// member's task id (N/A outside an array), %a the account (nai's
	// group).
	'i': {"job id, A_N for a member", func(j *structs.Job, _ time.Time) string { return j.ArrayRef() }},
	'A': {"job id", func(j *structs.Job, _ time.Time) string { return j.ID }},
	'F': {"array id", func(j *structs.Job, _ time.Time) string { return orValue(j.ArrayID, j.ID) }},
	'K': {"array task id, N/A outside an array", func(j *structs.Job, _ time.Time) string {
		if j.ArrayID == "" {
			return "N/A" // as squeue prints it
		}
		return strconv.Itoa(j.ArrayTask())
	}},
	'a': {"account (group)", func(j *structs.Job, _ time.Time) string { return orValue(j.Group, "N/A") }},
	'j': {"name", func(j *structs.Job, _ time.Time) string { return j.Name }},
	'u': {"user", func(j *structs.Job, _ time.Time) string { return j.User }},
	'g': {"group", func(j *structs.Job, _ time.Time) string { return orValue(j.Group, "N/A") }},
	'P': {"queue", func(j *structs.Job, _ time.Time) string { return j.Queue }},
	'T': {"state: PENDING", func(j *structs.Job, _ time.Time) string { return slurmState(j.Status) }},
	't': {"state: PD", func(j *structs.Job, _ time.Time) string { return slurmStateCode(j.Status) }},
	'M': {"time used", func(j *structs.Job, now time.Time) string {
		d, _ := jobtext.Runtime(j, now)
		return jobtext.Clock(d)
	}},
	'l': {"time limit", func(j *structs.Job, _ time.Time) string {
		if j.TimeLimit <= 0 {
			return "UNLIMITED"
		}
		return jobtext.Clock(j.TimeLimit.D())
	}},
	'L': {"time left", func(j *structs.Job, now time.Time) string {
		if j.TimeLimit <= 0 {
			return "UNLIMITED"
		}
		d, _ := jobtext.Runtime(j, now)
		return jobtext.Clock(j.TimeLimit.D() - d)
	}},
	'D': {"nodes", func(j *structs.Job, _ time.Time) string { return strconv.Itoa(max(j.Resources.Nodes, 1)) }},
	'C': {"CPUs", func(j *structs.Job, _ time.Time) string {
		return formatFloat(j.Resources.CPU * float64(max(j.Resources.Nodes, 1)))
	}},
	'm': {"memory", func(j *structs.Job, _ time.Time) string { return structs.FormatSize(j.Resources.MemoryBytes) }},
	'b': {"GPUs", func(j *structs.Job, _ time.Time) string {
		g := j.Resources.GPU
		switch {
		case g.Count == 0:
			return "N/A"
		case g.Model != "":
			return fmt.Sprintf("gpu:%s:%d", g.Model, g.Count)
		}
		return fmt.Sprintf("gpu:%d", g.Count)
	}},
	'N': {"node", func(j *structs.Job, _ time.Time) string {
		if j.NodeName == "" && j.NodeID == "" {
			return ""
		}
		return jobtext.NodeLabel(j)
	}},
	'R': {"reason or node", func(j *structs.Job, now time.Time) string {
		if j.Status == structs.JobPending {
			return "(" + orValue(jobtext.Printable(j.Reason), "None") + ")"
		}
		if j.NodeName == "" && j.NodeID == "" {
			return "(" + jobtext.QueueReason(j, now) + ")"
		}
		return jobtext.NodeLabel(j)
	}},
	'r': {"reason", func(j *structs.Job, now time.Time) string {
		if j.Status == structs.JobPending {
			return orValue(jobtext.Printable(j.Reason), "None")
		}
		if j.Status.Terminal() {
			return jobtext.QueueReason(j, now)
		}
		return "None"
	}},
	'Q': {"priority", func(j *structs.Job, _ time.Time) string { return strconv.Itoa(j.Priority) }},
	'V': {"submit time", func(j *structs.Job, now time.Time) string { return slurmTime(j.SubmitTime, now) }},
	'S': {"start time", func(j *structs.Job, now time.Time) string {
		if j.StartTime.IsZero() {
			return slurmTime(j.EstimatedStart, now) // squeue's expected start
		}
		return slurmTime(j.StartTime, now)
	}},
	'e': {"end time", func(j *structs.Job, now time.Time) string { return slurmTime(j.EndTime, now) }},
	'o': {"command", func(j *structs.Job, _ time.Time) string {
		if j.Task.Script != "" {
			return "(script)"
		}
		return strings.Join(append([]string{j.Task.Command}, j.Task.Args...), " ")
	}},
}

func orValue(s, or string) string {
	if s == "" {
		return or
	}
	return s
}

// slurmState is squeue's long state name (%T).
func slurmState(s structs.JobStatus) string {
	switch s {
	case structs.JobComplete:
		return "COMPLETED"
	case structs.JobLost:
		return "NODE_FAIL"
	}
	return strings.ToUpper(string(s))
}

// slurmStateCode is squeue's compact state (%t), the codes -state takes.
func slurmStateCode(s structs.JobStatus) string {
	switch s {
	case structs.JobPending:
		return "PD"
	case structs.JobRunning:
		return "R"
	case structs.JobComplete:
		return "CD"
	case structs.JobFailed:
		return "F"
	case structs.JobCancelled:
		return "CA"
	case structs.JobLost:
		return "NF"
	}
	return strings.ToUpper(string(s))
}

// slurmTime is a time as squeue prints it, in now's time zone, or N/A.
func slurmTime(t, now time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	return t.In(now.Location()).Format("2006-01-02T15:04:05")
}

// squeueCodeList is "%i (job id), %j (name), ..." for error messages.
func squeueCodeList() string {
	const order = "ijuPTtMlLDCbmRrNAFKagQVSeo"
	parts := make([]string, 0, len(order))
	for i := range len(order) {
		parts = append(parts, "%"+order[i:i+1]+" ("+squeueCodes[order[i]].what+")")
	}
	return strings.Join(parts, ", ")
}

// squeuePart is a piece of a format: literal text, or a code with its
// size.
type squeuePart struct {
	text  string
	code  *squeueCode
	size  int
	right bool
}

// squeueFormat is a parsed squeue format; Execute prints one job, as a
// text/template would.
type squeueFormat struct {
	parts []squeuePart
	now   time.Time
}

// isSqueueFormat reports whether a -format is squeue's language rather
// than a Go template: it has a % and no {{.
// squeueCodeOutsideActions is the first squeue code ("%i", "%.10j") in
// the text of a Go template outside its {{...}} actions, where it would
// print as it is; "" when there is none. A % inside an action ({{printf
// "%5d" .Priority}}) or not followed by a code ("{{.Priority}}%") is the
// template's.
func squeueCodeOutsideActions(f string) string {
	for rest := f; rest != ""; {
		text, after, found := strings.Cut(rest, "{{")
		for i := 0; i < len(text); i++ {
			if text[i] != '%' {
				continue
			}
			j := i + 1
			if j < len(text) && text[j] == '%' {
				i = j
				continue
			}
			if j < len(text) && (text[j] == '.' || text[j] == '-') {
				j++
			}
			for j < len(text) && text[j] >= '0' && text[j] <= '9' {
				j++
			}
			if j < len(text) {
				if _, ok := squeueCodes[text[j]]; ok {
					return text[i : j+1]
				}
			}
		}
		if !found {
			break
		}
		_, rest, found = strings.Cut(after, "}}")
		if !found {
			break
		}
	}
	return ""
}

func isSqueueFormat(f string) bool {
	return strings.Contains(f, "%") && !strings.Contains(f, "{{")
}

// parseSqueueFormat reads squeue's -o language: %[.][SIZE]CODE, %% for a
// percent sign. A code nai has no field for is an error naming the codes
// it knows; times are counted from now.
func parseSqueueFormat(f string, now time.Time) (*squeueFormat, error) {
	sf := &squeueFormat{now: now}
	var lit strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			lit.WriteByte(f[i])
			continue
		}
		start := i
		i++
		if i < len(f) && f[i] == '%' {
			lit.WriteByte('%')
			continue
		}
		p := squeuePart{}
		if i < len(f) && (f[i] == '.' || f[i] == '-') {
			p.right = f[i] == '.'
			i++
		}
		digits := i
		for i < len(f) && f[i] >= '0' && f[i] <= '9' {
			i++
		}
		if i > digits {
			n, err := strconv.Atoi(f[digits:i])
			if err != nil || n > 1000 {
				return nil, fmt.Errorf("-format: the size in %q is too large", f[start:i])
			}
			p.size = n
		}
		if i == len(f) {
			return nil, fmt.Errorf("-format %q ends in the middle of %q: expected a squeue code such as %%i after it", f, f[start:])
		}
		c, ok := squeueCodes[f[i]]
		if !ok {
			r, _ := utf8.DecodeRuneInString(f[i:])
			return nil, fmt.Errorf("-format: %%%c is not a squeue code nai knows; it knows %s; or give a Go template such as '{{.ID}} {{.Name}}'", r, squeueCodeList())
		}
		if lit.Len() > 0 {
			sf.parts = append(sf.parts, squeuePart{text: lit.String()})
			lit.Reset()
		}
		p.code = &c
		sf.parts = append(sf.parts, p)
	}
	if lit.Len() > 0 {
		sf.parts = append(sf.parts, squeuePart{text: lit.String()})
	}
	return sf, nil
}

// Execute writes the line of one job (data is a *structs.Job).
func (sf *squeueFormat) Execute(w io.Writer, data any) error {
	j, ok := data.(*structs.Job)
	if !ok {
		return fmt.Errorf("squeue format: %T is not a job", data)
	}
	var b strings.Builder
	for _, p := range sf.parts {
		if p.code == nil {
			b.WriteString(p.text)
			continue
		}
		s := p.code.cell(j, sf.now)
		if p.size == 0 {
			b.WriteString(s)
			continue
		}
		n := utf8.RuneCountInString(s)
		if n > p.size {
			s, n = string([]rune(s)[:p.size]), p.size
		}
		pad := strings.Repeat(" ", p.size-n)
		if p.right {
			b.WriteString(pad + s)
		} else {
			b.WriteString(s + pad)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
