package structs

import (
	"fmt"
	"strings"
	"time"
)

// Node hooks are the operator's scripts that a client runs around each
// job on its node, as Slurm's Prolog and Epilog: the prolog before the
// task starts (a health check, a scratch dir), the epilog after it ended
// (clean-up). A hook that fails or overruns its timeout means the node is
// not fit for work: the client reports it in its allocation update, and
// the servers drain the node with the reason in the same raft transaction.
// A failed prolog ends the allocation with reason prolog-failed and its
// job goes back to the queue (it never started, so this costs it no
// retry); a failed epilog leaves the job's outcome alone.

// ExitPrologFailed is why an allocation whose node's prolog failed never
// started.
const ExitPrologFailed ExitReason = "prolog-failed"

// HookName names a node hook.
type HookName string

const (
	HookProlog HookName = "prolog"
	HookEpilog HookName = "epilog"
)

// Limits of a hook report.
const (
	MaxHookOutput  = 4 << 10 // bytes of output kept (the end of it)
	MaxHookMessage = 1 << 10
)

// HookReport is one failed run of a node hook.
type HookReport struct {
	Hook    HookName `json:"hook"`
	Path    string   `json:"path,omitempty"`
	AllocID string   `json:"alloc_id,omitempty"`
	JobID   string   `json:"job_id,omitempty"`
	// ExitCode is nil when the hook did not exit by itself (timed out,
	// killed, could not start).
	ExitCode *int `json:"exit_code"`
	TimedOut bool `json:"timed_out,omitempty"`
	// Message says why in one line: "exit status 1: GPU 3 is missing".
	Message string `json:"message"`
	// Output is the end of what the hook wrote (stdout and stderr).
	Output   string    `json:"output,omitempty"`
	Duration Duration  `json:"duration"`
	Time     time.Time `json:"time,omitzero"`
}

// Validate checks a report a client sends.
func (h *HookReport) Validate() error {
	switch {
	case h.Hook != HookProlog && h.Hook != HookEpilog:
		return fmt.Errorf("hook %q is unknown: expected prolog or epilog", h.Hook)
	case h.Message == "":
		return fmt.Errorf("%s report has no message", h.Hook)
	case len(h.Message) > MaxHookMessage || len(h.Output) > MaxHookOutput || len(h.Path) > 4096:
		return fmt.Errorf("%s report is too long: at most %d bytes of message and %d of output", h.Hook, MaxHookMessage, MaxHookOutput)
	}
	return nil
}

// DiskFullPrefix begins the message of the report a client makes when its
// data dir is below client { min_free_disk } as a job is to start: it
// refuses the job as a failed prolog does (client/disk.go), with no path.
const DiskFullPrefix = "the node's disk is full: "

// DiskCheck reports whether this is a client's own disk check rather
// than the operator's prolog: such a drain the client may end itself once
// space is back (POST /v1/client/nodes/{id}/disk-recovered).
func (h *HookReport) DiskCheck() bool {
	return h != nil && h.Hook == HookProlog && h.Path == "" && strings.HasPrefix(h.Message, DiskFullPrefix)
}

// DrainReason is what a node drained by this failure says.
func (h *HookReport) DrainReason() string {
	return fmt.Sprintf("%s failed: %s", h.Hook, h.Message)
}

// Copy returns a deep copy.
func (h *HookReport) Copy() *HookReport {
	if h == nil {
		return nil
	}
	c := *h
	if h.ExitCode != nil {
		e := *h.ExitCode
		c.ExitCode = &e
	}
	return &c
}
