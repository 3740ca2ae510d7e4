package builders

import (
	"slices"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// A built job is valid as it is, and each Build is a new object.
func TestJob(t *testing.T) {
	b := Job("train").GPUs(8).TimeLimit(4 * time.Hour).DependsOn("7")
	j := b.Build()
	if err := j.Validate(); err != nil {
		t.Fatalf("default job is invalid: %v", err)
	}
	if j.Resources.GPU.Count != 8 || j.TimeLimit.D() != 4*time.Hour || len(j.DependsOn) != 1 || j.DependsOn[0].Type != structs.AfterOK {
		t.Errorf("job %+v", j)
	}
	canon := j.Copy()
	canon.Canonicalize()
	if canon.Priority != j.Priority || canon.Queue != j.Queue || canon.Resources != j.Resources {
		t.Errorf("the defaults are not the canonical ones: %+v vs %+v", j, canon)
	}
	j.DependsOn[0].JobID = "changed"
	if b.Build().DependsOn[0].JobID != "7" {
		t.Error("a built job shares its slices with the builder")
	}
}

func TestNode(t *testing.T) {
	b := Node("n").GPUs(4).NVLinkPairs()
	n1, n2 := b.BuildAs("n1"), b.BuildAs("n2")
	if n1.ID != "n1" || n1.Name != "n1" || n2.GPUs[3].UUID != "GPU-n2-3" || !slices.Equal(n1.GPUs[2].NVLinkPeers, []int{3}) {
		t.Errorf("nodes %+v %+v", n1, n2)
	}
	if n := Node("n1").Name("host-n1").GPUs(0).Build(); n.Name != "host-n1" || len(n.GPUs) != 0 || n.Status != structs.NodeReady || !n.Eligible {
		t.Errorf("node %+v", n)
	}
}
