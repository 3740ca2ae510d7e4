package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nai-project/nai/structs"
)

// formatHookFailure shows a node's latest failed prolog or epilog, with
// the end of its output, in `nai node status`.
func formatHookFailure(w io.Writer, h *structs.HookReport, now time.Time) error {
	if h == nil {
		return nil
	}
	fmt.Fprintf(w, "\nLast hook failure\n")
	k := newKV(w)
	k.add("Hook", string(h.Hook)+" "+h.Path)
	k.add("When", stamp(h.Time, now))
	if h.JobID != "" {
		k.add("Job", h.JobID+" (allocation "+h.AllocID+")")
	}
	k.add("Failure", h.Message)
	k.add("Ran for", h.Duration.String())
	if err := k.flush(); err != nil {
		return err
	}
	out := strings.TrimRight(h.Output, "\n")
	if out == "" {
		return nil
	}
	fmt.Fprintln(w, "Output (its end):")
	for _, line := range strings.Split(out, "\n") {
		if _, err := fmt.Fprintln(w, "  | "+line); err != nil {
			return err
		}
	}
	return nil
}
