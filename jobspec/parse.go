package jobspec

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/nai-project/nai/structs"
)

// Limits on what one submission may ask of the parser.
const (
	MaxFileSize  = 1 << 20 // bytes in a job file or a -var-file
	MaxSweepJobs = 10000   // members of one sweep
)

// StdinName is the file name diagnostics use for a job read from standard
// input.
const StdinName = "<stdin>"

// Options are the inputs to a parse besides the file itself.
type Options struct {
	Vars     map[string]string // -var name=value (typed by the variable's declared type)
	VarFiles []string          // -var-file paths (HCL attribute files)
	Now      time.Time         // for begin_after given as a duration; zero = time.Now()
	// LookupEnv reads the submitting environment for a batch script's
	// --export=NAME (os.LookupEnv in the CLI); nil reads nothing. HCL job
	// files never read the environment.
	LookupEnv func(string) (string, bool)
}

// Result is what one job file submits.
type Result struct {
	Jobs     []*structs.Job // one job, or every member of a sweep
	CodePath string         // absolute path of `code = "..."`, resolved against the file's folder; "" when none
	// CodeDigest is set instead of CodePath when the file names code the
	// servers already hold (code = "sha256:..."); every job's Code is it.
	CodeDigest string
	Sweep      bool
	// SweepFields, when not nil, names the spec fields in which the
	// members of a sweep may differ, as structs.SweepSpec names them
	// ("task.args"): in every other field they are the same (they share
	// its maps, slices and pointers, which are read-only), and
	// structs.NewSweepSpecFields need not compare them.
	SweepFields []string
	// Script is set when the file was a batch script (#SBATCH) rather than
	// a job file; Warnings then lists what nai does not honour as Slurm
	// would, by line.
	Script   bool
	Warnings []Warning
	// PerUnit is set for a batch script that asked for CPUs or memory per
	// GPU or per CPU (--cpus-per-gpu, --mem-per-gpu, --mem-per-cpu): what
	// one GPU or CPU brings, per node, so that a command-line option that
	// changes the GPUs or CPUs can scale them as sbatch would.
	PerUnit *PerUnit
}

// PerUnit is what a batch script asked for each GPU or CPU of a node; 0
// where it asked nothing per unit.
type PerUnit struct {
	CPUsPerGPU   int
	MemoryPerGPU int64 // bytes
	MemoryPerCPU int64 // bytes
}

// ParseFile reads and parses a job file; "-" reads standard input. A file
// over MaxFileSize is refused.
func ParseFile(path string, opts Options) (*Result, error) {
	name, src, err := readSource(path, "job file")
	if err != nil {
		return nil, err
	}
	return Parse(name, src, opts)
}

// readSource reads a file, or standard input for "-", stopping one byte
// past MaxFileSize: enough for the parser to know the file is too large.
// It returns the name diagnostics should use.
func readSource(path, what string) (string, []byte, error) {
	name := path
	var r io.Reader
	if path == "-" {
		name = StdinName
		r = os.Stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return "", nil, fmt.Errorf("read %s: %w", what, err)
		}
		defer f.Close()
		r = f
	}
	src, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return "", nil, fmt.Errorf("read %s %s: %w", what, name, err)
	}
	return name, src, nil
}

// Parse parses a job file's contents. filename is used in diagnostics and
// to resolve `code` paths. A batch script (see IsScript) is read by
// ParseScript; contents whose first non-space byte is '{' are read as the
// API's JSON job object; anything else is HCL.
//
// Every returned job has been canonicalized and validated. Problems come
// back as a *DiagError, except for a file that is no job file at all (a
// .py program, text that is not HCL): a *NotJobFileError.
func Parse(filename string, src []byte, opts Options) (*Result, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if len(src) > MaxFileSize {
		rng := hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos}
		return nil, newDiagError(hcl.Diagnostics{errorAt(rng, "Job file too large",
			"A job file may hold at most %d bytes (1 MiB); this one has more. Keep data and code in the code folder, not in the job file.", MaxFileSize)}, nil)
	}
	if IsScript(filename, src) {
		return ParseScript(filename, src, opts)
	}
	if err := programFile(filename); err != nil {
		return nil, err
	}
	if t := bytes.TrimLeft(src, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return parseJSON(filename, src)
	}
	p := newParser(filename, opts)
	res, err := p.parse(src)
	if err != nil && notHCL(filename, src) {
		return nil, &NotJobFileError{Filename: filename}
	}
	return res, err
}

// baseDir is the folder relative paths in the file are resolved against.
func baseDir(filename string) string {
	if filename == "" || filename == StdinName || filename == "-" {
		return "."
	}
	return filepath.Dir(filename)
}
