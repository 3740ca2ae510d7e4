package jobspec

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// Warning is something in a batch script that nai does not honour as Slurm
// would (a warning), or ignores just as Slurm does (a note). Nothing in a
// script is dropped without one.
type Warning struct {
	Filename string
	Line     int
	Note     bool
	Message  string
}

func (w Warning) String() string {
	kind := "warning"
	if w.Note {
		kind = "note"
	}
	return fmt.Sprintf("%s:%d: %s: %s", w.Filename, w.Line, kind, w.Message)
}

// scriptExts are the file name endings that mark a batch script even
// without a #! line or directives.
var scriptExts = []string{".sh", ".bash", ".sbatch", ".slurm"}

// IsScript reports whether a job file is a batch script rather than an HCL
// or JSON job: its name ends in .sh, .bash, .sbatch or .slurm, or (unless
// it ends in .hcl or .json) it starts with "#!" or has an #SBATCH line
// among the comments before its first other line, where sbatch reads them.
func IsScript(filename string, src []byte) bool {
	switch ext := strings.ToLower(filepath.Ext(filename)); {
	case slices.Contains(scriptExts, ext):
		return true
	case ext == ".hcl" || ext == ".json":
		return false
	case bytes.HasPrefix(src, []byte("#!")):
		return true
	}
	for len(src) > 0 {
		line, rest, _ := bytes.Cut(src, []byte("\n"))
		src = rest
		if bytes.HasPrefix(line, []byte(directivePrefix)) {
			return true
		}
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			return false
		}
	}
	return false
}

// ParseScript reads a batch script with #SBATCH directives (see the package
// documentation for what each becomes). Problems come back as a
// *DiagError; what nai cannot honour comes back in Result.Warnings.
func ParseScript(filename string, src []byte, opts Options) (*Result, error) {
	sr, err := parseScript(filename, src, opts)
	if err != nil {
		return nil, err
	}
	return sr.res, nil
}

// scriptResult is a parsed script with what a converted job file needs
// besides the jobs.
type scriptResult struct {
	res *Result
	// beginAfter is --begin=now+N as a delay, so the job file can say
	// begin_after = "1h" rather than a fixed time; 0 when not relative.
	beginAfter time.Duration
	relBegin   bool
}

func parseScript(filename string, src []byte, opts Options) (*scriptResult, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	p := &scriptParser{filename: filename, src: src, opts: opts, last: map[string]*directive{}}
	files := map[string]*hcl.File{filename: {Bytes: src}}
	fail := func() error { return newDiagError(p.diags, files) }
	if len(src) > MaxFileSize {
		p.errorAt(hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos}, "Script too large",
			"A batch script may hold at most %d bytes (1 MiB); this one has more. Keep data and code in the script's folder, which is uploaded with it.", MaxFileSize)
		return nil, fail()
	}
	if len(opts.Vars) > 0 || len(opts.VarFiles) > 0 {
		p.errorAt(hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos}, "Variables given for a script",
			"-var and -var-file set the variables of an HCL job file; a batch script has none. Use #SBATCH --export=NAME=VALUE to set its environment.")
		return nil, fail()
	}
	if len(bytes.TrimSpace(src)) == 0 {
		p.errorAt(hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos}, "Empty script",
			"The batch script is empty: it needs the commands to run, after any #SBATCH lines.")
		return nil, fail()
	}
	if !utf8.Valid(src) || bytes.IndexByte(src, 0) >= 0 {
		p.errorAt(hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos}, "Not a text file",
			"A batch script must be UTF-8 text without NUL bytes.")
		return nil, fail()
	}
	if i := bytes.Index(src, []byte("\r\n")); i >= 0 {
		// The kernel and bash would see "/bin/bash\r" and "cmd\r": the job
		// would only fail on the node. sbatch refuses such a script too.
		line := bytes.Count(src[:i], []byte("\n")) + 1
		lineStart := bytes.LastIndexByte(src[:i], '\n') + 1
		pos := hcl.Pos{Line: line, Column: utf8.RuneCount(src[lineStart:i]) + 1, Byte: i}
		p.errorAt(hcl.Range{Filename: filename, Start: pos, End: hcl.Pos{Line: line, Column: pos.Column + 1, Byte: i + 1}}, "DOS line breaks",
			"The batch script contains DOS line breaks (\\r\\n) instead of the UNIX line breaks (\\n) a script needs, first at the end of line %d: it would fail on the node (\"/bin/bash\\r: no such file\"). Convert it with dos2unix %s (or sed -i 's/\\r$//' %s).",
			line, filename, filename)
		return nil, fail()
	}
	p.scan()
	sr := p.build() // even after a bad directive: every problem is reported at once
	if p.diags.HasErrors() {
		return nil, fail()
	}
	slices.SortStableFunc(p.warnings, func(a, b Warning) int { return a.Line - b.Line })
	sr.res.Warnings = p.warnings
	return sr, nil
}

// scriptParser reads one batch script.
type scriptParser struct {
	filename string
	src      []byte
	opts     Options
	diags    hcl.Diagnostics
	warnings []Warning
	last     map[string]*directive // by option name: the last one given wins, as in sbatch
	firstCmd int                   // line of the first command; 0 when none
}

// directive is one option given on an #SBATCH line.
type directive struct {
	opt      *sbatchOption
	written  string // as the script spells it: "-t" or "--time"
	value    string
	hasValue bool
	rng      hcl.Range
}

// show is the directive as a person would write it, for messages.
func (d *directive) show() string {
	if !d.hasValue {
		return "--" + d.opt.long
	}
	return "--" + d.opt.long + "=" + d.value
}

func (p *scriptParser) errorAt(rng hcl.Range, summary, format string, args ...any) {
	p.diags = append(p.diags, errorAt(rng, summary, format, args...))
}

// invalid reports a bad value of a directive.
func (p *scriptParser) invalid(d *directive, err error) {
	p.errorAt(d.rng, "Invalid --"+d.opt.long, "%s.", strings.TrimSuffix(capitalize(err.Error()), "."))
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

func (p *scriptParser) warn(line int, format string, args ...any) {
	p.warnings = append(p.warnings, Warning{Filename: p.filename, Line: line, Message: fmt.Sprintf(format, args...)})
}

func (p *scriptParser) note(line int, format string, args ...any) {
	p.warnings = append(p.warnings, Warning{Filename: p.filename, Line: line, Note: true, Message: fmt.Sprintf(format, args...)})
}

const directivePrefix = "#SBATCH"

// scan reads the script line by line as sbatch does: #SBATCH lines are
// directives until the first line that is neither blank nor a comment;
// after it they are ignored (with a note). It also warns about srun, which
// nai nodes do not have.
func (p *scriptParser) scan() {
	offset := 0
	for n, line := range strings.SplitAfter(string(p.src), "\n") {
		lineNo := n + 1
		start := offset
		offset += len(line)
		line = strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(line, directivePrefix) {
			if p.firstCmd > 0 {
				p.note(lineNo, "#SBATCH after the first command (line %d) is ignored, as sbatch ignores it: move it above line %d", p.firstCmd, p.firstCmd)
				continue
			}
			p.directiveLine(line, lineNo, start)
			continue
		}
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, directivePrefix) && p.firstCmd == 0 {
			p.note(lineNo, "an indented #SBATCH is a comment to sbatch, and so to nai: start the line with #SBATCH to make it a directive")
		}
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if p.firstCmd == 0 {
			p.firstCmd = lineNo
		}
		if f := strings.Fields(trimmed); f[0] == "srun" || (len(f) > 1 && f[0] == "exec" && f[1] == "srun") {
			p.warn(lineNo, "srun is not available on nai nodes: nai already runs this script once on each node of the job (as srun --ntasks-per-node=1 would); run the program directly, or start several processes per node with torchrun")
		}
	}
}

// token is one word of a directive line, quotes and escapes removed.
type token struct {
	text string
	rng  hcl.Range
}

// directiveLine splits the rest of an #SBATCH line into words as sbatch
// does (quotes group, a backslash escapes, an unquoted # starts a comment)
// and reads the options in them.
func (p *scriptParser) directiveLine(line string, lineNo, lineStart int) {
	pos := func(i int) hcl.Pos {
		return hcl.Pos{Line: lineNo, Column: utf8.RuneCountInString(line[:i]) + 1, Byte: lineStart + i}
	}
	rng := func(i, j int) hcl.Range { return hcl.Range{Filename: p.filename, Start: pos(i), End: pos(j)} }
	var toks []token
	i := len(directivePrefix)
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i >= len(line) || line[i] == '#' {
			break
		}
		start := i
		var b strings.Builder
		var quote byte
		for i < len(line) && (quote != 0 || (line[i] != ' ' && line[i] != '\t')) {
			c := line[i]
			switch {
			case c == '\\' && i+1 < len(line):
				b.WriteByte(line[i+1])
				i += 2
				continue
			case quote != 0 && c == quote:
				quote = 0
			case quote == 0 && (c == '"' || c == '\''):
				quote = c
			case quote == 0 && c == '#':
				// An unquoted # ends the line, even inside a word.
				toks = append(toks, token{b.String(), rng(start, i)})
				p.options(toks)
				return
			default:
				b.WriteByte(c)
			}
			i++
		}
		if quote != 0 {
			p.errorAt(rng(start, len(line)), "Unmatched quote", "The %c that starts here is never closed on this line.", quote)
			return
		}
		toks = append(toks, token{b.String(), rng(start, i)})
	}
	if len(toks) == 0 {
		p.note(lineNo, "#SBATCH line without options")
		return
	}
	p.options(toks)
}

// options reads the options of one directive line the way getopt_long
// does: --name=value, --name value, -X value and -Xvalue; options that take
// no value, or an optional one, only take it after '='.
func (p *scriptParser) options(toks []token) {
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		line := t.rng.Start.Line
		switch {
		case t.text == "" || t.text == "-" || t.text[0] != '-':
			p.warn(line, "%q is not an option (options start with - or --); ignored", t.text)
		case t.text == "--":
			if i+1 < len(toks) {
				p.warn(line, "arguments after -- are not passed to the script; ignored")
			}
			return
		case strings.HasPrefix(t.text, "--"):
			name, value, hasValue := strings.Cut(t.text[2:], "=")
			opt := longOptions[name]
			if opt == nil {
				full, ambiguous, isOption := resolveLong(name)
				if opt = longOptions[full]; opt == nil {
					// An option nai has no entry for: its value would
					// read as a stray word, so a following plain word is
					// taken as its value.
					shown := t.text
					if !hasValue && i+1 < len(toks) && !strings.HasPrefix(toks[i+1].text, "-") {
						i++
						shown += " " + toks[i].text
					}
					if isOption {
						p.warn(line, "%s is an sbatch option nai does not support; ignored", shown)
					} else {
						p.unknownOption(t.rng, "--"+name, ambiguous)
					}
					continue
				}
			}
			d := &directive{opt: opt, written: "--" + name, value: value, hasValue: hasValue, rng: t.rng}
			switch {
			case opt.arg == noArg && hasValue:
				p.errorAt(t.rng, "Invalid --"+opt.long, "--%s takes no value; got %q.", opt.long, value)
				continue
			case opt.arg == reqArg && !hasValue:
				if i+1 >= len(toks) {
					p.errorAt(t.rng, "Missing value", "--%s needs a value on the same line, as in --%s=VALUE.", opt.long, opt.long)
					continue
				}
				i++
				d.value, d.hasValue, d.rng = toks[i].text, true, hcl.RangeBetween(t.rng, toks[i].rng)
			}
			p.add(d)
		default:
			p.shortOptions(toks, &i)
		}
	}
}

// shortOptions reads one word of short options ("-N2", "-t 10", "-HQ").
func (p *scriptParser) shortOptions(toks []token, i *int) {
	t := toks[*i]
	line := t.rng.Start.Line
	for j := 1; j < len(t.text); j++ {
		opt := shortOptions[t.text[j]]
		if opt == nil {
			if strings.IndexByte(sbatchShortNames, t.text[j]) >= 0 {
				p.warn(line, "-%c is an sbatch option nai does not support; ignored", t.text[j])
			} else {
				p.unknownOption(t.rng, "-"+string(t.text[j]), nil)
			}
			continue
		}
		d := &directive{opt: opt, written: "-" + string(t.text[j]), rng: t.rng}
		if opt.arg != noArg {
			switch {
			case j+1 < len(t.text):
				d.value, d.hasValue = t.text[j+1:], true
			case *i+1 < len(toks):
				*i++
				d.value, d.hasValue, d.rng = toks[*i].text, true, hcl.RangeBetween(t.rng, toks[*i].rng)
			default:
				p.errorAt(t.rng, "Missing value", "-%c (--%s) needs a value on the same line, as in -%c VALUE.", t.text[j], opt.long, t.text[j])
				return
			}
			p.add(d)
			return
		}
		p.add(d)
	}
}

// unknownOption refuses an option sbatch does not have (sbatch refuses
// the script too), saying which it may have been.
func (p *scriptParser) unknownOption(rng hcl.Range, written string, ambiguous []string) {
	switch {
	case len(ambiguous) > 1:
		p.errorAt(rng, "Ambiguous sbatch option", "%s is not an sbatch option, and it abbreviates several: --%s. sbatch refuses it too; write the one you mean in full.", written, strings.Join(ambiguous, ", --"))
	case strings.HasPrefix(written, "--"):
		hint := ""
		if c := closestName(strings.TrimPrefix(written, "--"), sbatchLongNames); c != "" {
			hint = " Did you mean --" + c + "?"
		}
		p.errorAt(rng, "Unknown sbatch option", "%s is not an sbatch option; sbatch refuses it too.%s", written, hint)
	default:
		p.errorAt(rng, "Unknown sbatch option", "%s is not an sbatch option; sbatch refuses it too. Its one-letter options are -%s.", written, strings.Join(strings.Split(sbatchShortNames, ""), ", -"))
	}
}

// add records a directive: supported ones for build (the last of each
// wins, as in sbatch), the others as a warning or note saying why nai
// ignores them.
func (p *scriptParser) add(d *directive) {
	line := d.rng.Start.Line
	switch {
	case d.opt.why == "":
		p.last[d.opt.long] = d
	case d.opt.note:
		p.note(line, "%s is ignored: %s", d.show(), d.opt.why)
	default:
		p.warn(line, "%s is not supported: %s", d.show(), d.opt.why)
	}
}
