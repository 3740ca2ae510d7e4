package jobspec

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

func TestParseQueues(t *testing.T) {
	src := `
queue "gpu-long" {
  description        = "long training runs"
  max_time_limit     = "72h"
  default_time_limit = "24h"
  max_gpus_per_job   = 16
  allowed_groups     = ["ml", "vision"]
  priority           = 10
  priority_tier      = 1
}

queue "debug" {
  nodes          = ["gpu-01"]
  max_time_limit = "30m"
}
`
	got, err := ParseQueues("queues.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []*structs.Queue{
		{Name: "gpu-long", Description: "long training runs", MaxTimeLimit: structs.Duration(72 * time.Hour), DefaultTimeLimit: structs.Duration(24 * time.Hour),
			MaxGPUsPerJob: 16, AllowedGroups: []string{"ml", "vision"}, Priority: 10, PriorityTier: 1},
		{Name: "debug", Nodes: []string{"gpu-01"}, MaxTimeLimit: structs.Duration(30 * time.Minute)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("queues (-want +got):\n%s", diff)
	}
}

func TestParseQueuesErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"empty", ``, []string{"queues.hcl:1:1", "No queue"}},
		{"syntax", `queue "a" {`, []string{"queues.hcl:1"}},
		{"unknown attribute", "queue \"a\" {\n  max_time = \"1h\"\n}", []string{"queues.hcl:2:3", `Unsupported argument`}},
		{"bad duration", "queue \"a\" {\n  max_time_limit = \"3 days\"\n}", []string{"queues.hcl:2:20", `max_time_limit "3 days" is not a duration`}},
		{"number for duration", "queue \"a\" {\n  max_time_limit = 72\n}", []string{"queues.hcl:2", "must be a duration string"}},
		{"invalid limits", "queue \"a\" {\n  max_time_limit = \"1h\"\n  default_time_limit = \"2h\"\n}", []string{"queues.hcl:1:1", "longer than max_time_limit"}},
		{"bad name", `queue "a b" {}`, []string{`queue name "a b" is invalid`}},
		{"duplicate", "queue \"a\" {}\nqueue \"a\" {}", []string{"queues.hcl:2:1", "defined twice"}},
		{"missing label", `queue {}`, []string{"Missing name for queue"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseQueues("queues.hcl", []byte(tc.src))
			var de *DiagError
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T), want a *DiagError", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestQueueExamples parses every queue file under examples/queues.
func TestQueueExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "examples", "queues", "*.hcl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples/queues/*.hcl to check: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := ParseQueueFile(f); err != nil {
				t.Fatal(err)
			}
		})
	}
}
