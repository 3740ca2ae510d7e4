package scheduler

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

func TestQueueGates(t *testing.T) {
	limited := []structs.Queue{{Name: "default", MaxTimeLimit: structs.Duration(time.Hour), MaxGPUsPerJob: 2, AllowedGroups: []string{"ml"}}}
	cases := []struct {
		name   string
		gate   string
		queues []structs.Queue
		job    *jobBuilder
		want   gateRun
	}{
		{"a job of the default queue with no queues configured", "queue", nil, newJob(), admitted},
		{"a queue that exists", "queue", []structs.Queue{{Name: "gpu"}}, newJob().Queue("gpu"), admitted},
		{"a queue that does not exist", "queue", []structs.Queue{{Name: "gpu"}}, newJob().Queue("nope"),
			gateRun{hold, structs.WaitNoNodeFits, `NoNodeFits: queue "nope" does not exist`}},
		{"no queue named, and no default queue", "queue", []structs.Queue{{Name: "gpu"}}, newJob().Queue(""),
			gateRun{hold, structs.WaitNoNodeFits, `NoNodeFits: queue "default" does not exist`}},
		{"a valid request", "request", nil, newJob().GPUs(2), admitted},
		{"negative GPUs", "request", nil, newJob().GPUs(-1),
			gateRun{hold, structs.WaitNoNodeFits, "NoNodeFits: invalid request: resources.gpu.count -1 is out of range: expected 0 to 1024"}},
		{"within every limit", "queue limits", limited, newJob().Group("ml").GPUs(2).TimeLimit(time.Hour), admitted},
		{"over the queue's time limit", "queue limits", limited, newJob().Group("ml").TimeLimit(2 * time.Hour),
			gateRun{hold, structs.WaitQueueLimit, "QueueLimit: time limit 2h0m0s exceeds queue default's maximum of 1h0m0s"}},
		{"over the queue's GPUs per job, counting every node of a gang", "queue limits", limited, newJob().Group("ml").GPUs(2).Nodes(2),
			gateRun{hold, structs.WaitQueueLimit, "QueueLimit: needs 4 GPUs, queue default allows 2 per job"}},
		{"a group the queue does not allow", "queue limits", limited, newJob().Group("web"),
			gateRun{hold, structs.WaitQueueLimit, `QueueLimit: group "web" may not use queue default`}},
		{"no group, and the queue allows only some", "queue limits", limited, newJob(),
			gateRun{hold, structs.WaitQueueLimit, `QueueLimit: group "" may not use queue default`}},
		{"a queue without limits", "queue limits", nil, newJob().GPUs(64).TimeLimit(1000 * time.Hour), admitted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.addNodes(1, newNode("n"))
			j := h.submit(tc.job)[0]
			cfg := DefaultConfig()
			cfg.Queues = tc.queues
			got := h.runGate(cfg, tc.gate)[j.ID]
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(gateRun{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
