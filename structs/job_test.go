package structs

import (
	"strings"
	"testing"
)

func TestResourcesValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		r       Resources
		wantErr string // "" for valid
	}{
		{"defaults left to Canonicalize", Resources{}, ""},
		{"memory below what a task starts in: replayed as before", Resources{CPU: 1, MemoryBytes: 10}, ""},
		{"negative memory", Resources{CPU: 1, MemoryBytes: -1}, "resources.memory -1 bytes is out of range"},
		{"memory over the maximum, in its unit", Resources{CPU: 1, MemoryBytes: 900 << 40}, "resources.memory 900TiB is out of range: expected up to 64TiB"},
		{"too much memory", Resources{CPU: 1, MemoryBytes: MaxMemory + 1}, "expected up to 64TiB"},
		{"negative cpu", Resources{CPU: -1, MemoryBytes: MinMemory}, "resources.cpu -1 is out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want no error", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

// The servers check what they are sent on the API path, so a job built by
// hand (not by the CLI's parsers) with a memory limit no task can start in
// is refused there; the state machine's Validate still takes it, as old
// logs that hold such jobs must replay as they did.
func TestResourcesCheckSubmit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		r       Resources
		wantErr string
	}{
		{"the default", Resources{}, ""},
		{"the smallest memory a task starts in", Resources{CPU: 1, MemoryBytes: MinMemory}, ""},
		{"memory written without a unit", Resources{CPU: 1, MemoryBytes: 10},
			"resources.memory 10B is below the 4MiB a task needs: give a size with a unit such as 512MiB or 8GiB"},
		{"one byte under the minimum", Resources{CPU: 1, MemoryBytes: MinMemory - 1}, "is below the 4MiB a task needs"},
	} {
		err := tc.r.CheckSubmit()
		if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: CheckSubmit() = %v, want %q", tc.name, err, tc.wantErr)
		}
		if verr := tc.r.Validate(); verr != nil {
			t.Errorf("%s: Validate() = %v: the state machine must take it", tc.name, verr)
		}
	}
}
