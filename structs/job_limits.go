package structs

import (
	"errors"
	"fmt"
)

// Bounds on the size of what a job carries. A job lives in raft's log and
// in every server's memory for as long as it is kept, so a submission is
// refused past them (on the API path, CheckSubmit: jobs stored before the
// bounds replay as they were). Large things belong in the code folder,
// which is uploaded as a blob.
const (
	MaxScriptBytes   = 256 << 10 // task.script
	MaxArgsBytes     = 256 << 10 // task.command and task.args together
	MaxArgs          = 4096      // task.args
	MaxEnvVars       = 512       // task.env
	MaxEnvValueBytes = 64 << 10  // one task.env value
	MaxEnvBytes      = 256 << 10 // task.env's names and values together
	MaxLabelBytes    = 1 << 10   // one label's name or value
	MaxWorkdirBytes  = 4096      // task.workdir
	MaxSweepValue    = 64 << 10  // one value of a sweep member
)

// largeHint is what a refusal for size suggests.
const largeHint = "put large content in the job's code folder (code = \"./src\"), which is uploaded as a blob, and read it from there"

// checkSizes refuses a job whose fields are larger than the bounds above.
func (j *Job) checkSizes() error {
	var errs []error
	t := &j.Task
	if n := len(t.Script); n > MaxScriptBytes {
		errs = append(errs, fmt.Errorf("task.script is %s: the limit is %s; %s", FormatSize(int64(n)), FormatSize(MaxScriptBytes), largeHint))
	}
	if len(t.Args) > MaxArgs {
		errs = append(errs, fmt.Errorf("task.args has %d arguments: the limit is %d; %s", len(t.Args), MaxArgs, largeHint))
	}
	n := len(t.Command)
	for _, a := range t.Args {
		n += len(a)
	}
	if n > MaxArgsBytes {
		errs = append(errs, fmt.Errorf("task.command and task.args are %s together: the limit is %s; %s", FormatSize(int64(n)), FormatSize(MaxArgsBytes), largeHint))
	}
	if len(t.Env) > MaxEnvVars {
		errs = append(errs, fmt.Errorf("task.env has %d variables: the limit is %d; %s", len(t.Env), MaxEnvVars, largeHint))
	}
	total := 0
	for k, v := range t.Env {
		total += len(k) + len(v)
		if len(v) > MaxEnvValueBytes {
			errs = append(errs, fmt.Errorf("task.env %s is %s: the limit for one value is %s; %s", truncate(k), FormatSize(int64(len(v))), FormatSize(MaxEnvValueBytes), largeHint))
		}
	}
	if total > MaxEnvBytes {
		errs = append(errs, fmt.Errorf("task.env is %s in all: the limit is %s; %s", FormatSize(int64(total)), FormatSize(MaxEnvBytes), largeHint))
	}
	if len(t.Workdir) > MaxWorkdirBytes {
		errs = append(errs, fmt.Errorf("task.workdir is %d bytes long: the limit is %d", len(t.Workdir), MaxWorkdirBytes))
	}
	for k, v := range j.Labels {
		if len(k) > MaxLabelBytes || len(v) > MaxLabelBytes {
			errs = append(errs, fmt.Errorf("label %s: a label's name and value may each be %s at most", truncate(k), FormatSize(MaxLabelBytes)))
		}
	}
	for k, v := range j.SweepValues {
		if len(v) > MaxSweepValue {
			errs = append(errs, fmt.Errorf("sweep value %s is %s: the limit is %s", truncate(k), FormatSize(int64(len(v))), FormatSize(MaxSweepValue)))
		}
	}
	return errors.Join(errs...)
}

// CheckSizes refuses a sweep spec whose template, member changes or
// values are larger than a job may be (the members themselves are made
// from it on every server).
func (s *SweepSpec) CheckSizes() error {
	if s.Template != nil {
		if err := s.Template.checkSizes(); err != nil {
			return err
		}
	}
	for i, m := range s.Members {
		for k, v := range m.Values {
			if len(v) > MaxSweepValue {
				return fmt.Errorf("member %d: sweep value %s is %s: the limit is %s", i, truncate(k), FormatSize(int64(len(v))), FormatSize(MaxSweepValue))
			}
		}
		if m.Changes != nil {
			if err := m.Changes.checkSizes(); err != nil {
				return fmt.Errorf("member %d: %w", i, err)
			}
		}
	}
	return nil
}

// truncate shortens a name for a message.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
