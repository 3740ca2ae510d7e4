package jobspec

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// NotJobFileError says a file given as a job file is neither one (HCL with
// a job block, or the API's JSON) nor a batch script (#! or #SBATCH
// lines): a program, or other text. Callers can offer to run it as a
// command instead.
type NotJobFileError struct {
	Filename string
	// Kind is what the file looks like by its name ("a Python program"),
	// "" when the name does not say.
	Kind string
	// Interpreter runs a file of that kind ("python3"); "" when unknown.
	Interpreter string
}

func (e *NotJobFileError) Error() string {
	name := e.Filename
	if name == StdinName {
		name = "standard input"
	}
	if e.Kind != "" {
		return fmt.Sprintf("%s is %s, not a job file: nai runs HCL job files (a job block) and batch scripts with #SBATCH lines", name, e.Kind)
	}
	return fmt.Sprintf("%s is not a job file: it is not HCL with a job block (it does not parse as HCL) and not a batch script (no #! line, no #SBATCH lines)", name)
}

// programKinds name, by file extension, the programs people give where a
// job file goes, and what runs them.
var programKinds = map[string][2]string{
	".py":    {"a Python program", "python3"},
	".ipynb": {"a Jupyter notebook", ""},
	".r":     {"an R program", "Rscript"},
	".jl":    {"a Julia program", "julia"},
	".js":    {"a JavaScript program", "node"},
	".pl":    {"a Perl program", "perl"},
	".rb":    {"a Ruby program", "ruby"},
}

// programFile is the error for a file whose name says it is a program
// (and that is not a batch script), or nil.
func programFile(filename string) error {
	if k, ok := programKinds[strings.ToLower(filepath.Ext(filename))]; ok {
		return &NotJobFileError{Filename: filename, Kind: k[0], Interpreter: k[1]}
	}
	return nil
}

// jobBlockLine finds the start of an HCL job block.
var jobBlockLine = regexp.MustCompile(`(?m)^[ \t]*job[ \t]*["{]`)

// notHCL reports whether a file that failed to parse as a job file is not
// meant as HCL at all: it is not named .hcl, it has no job block, and it
// does not even parse as HCL. An HCL file with a mistake in it keeps its
// diagnostics.
func notHCL(filename string, src []byte) bool {
	if ext := strings.ToLower(filepath.Ext(filename)); ext == ".hcl" || ext == ".nomad" || jobBlockLine.Match(src) {
		return false
	}
	_, diags := hclsyntax.ParseConfig(bytes.Clone(src), filename, hcl.InitialPos)
	return diags.HasErrors()
}
