package jobspec

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nai-project/nai/structs"
)

// Every member of an array with task ids gets the array's range as Slurm
// gives it: SLURM_ARRAY_TASK_MIN, _MAX and _STEP; other sweeps get none
// here (the client sets them from the indices).
func TestArrayRangeEnv(t *testing.T) {
	none := map[string]string{}
	tests := []struct {
		name, file, src string
		want            map[string]string // none: no key set
	}{
		{"stepped range", "a.sh", "#!/bin/bash\n#SBATCH --array=0-15:4%2\ntrue\n",
			map[string]string{arrayTaskMinKey: "0", arrayTaskMaxKey: "12", arrayTaskStepKey: "4"}},
		{"plain range", "a.sh", "#!/bin/bash\n#SBATCH --array=3-5\ntrue\n",
			map[string]string{arrayTaskMinKey: "3", arrayTaskMaxKey: "5", arrayTaskStepKey: "1"}},
		{"a list that is no range: step 1", "a.sh", "#!/bin/bash\n#SBATCH -a 1,3,5,7,11\ntrue\n",
			map[string]string{arrayTaskMinKey: "1", arrayTaskMaxKey: "11", arrayTaskStepKey: "1"}},
		{"an evenly spaced list: its step, as Slurm reads the ids", "a.sh", "#!/bin/bash\n#SBATCH -a 2,4,6\ntrue\n",
			map[string]string{arrayTaskMinKey: "2", arrayTaskMaxKey: "6", arrayTaskStepKey: "2"}},
		{"ranges mixed", "a.sh", "#!/bin/bash\n#SBATCH --array=1-3,10\ntrue\n",
			map[string]string{arrayTaskMinKey: "1", arrayTaskMaxKey: "10", arrayTaskStepKey: "1"}},
		{"one task", "a.sh", "#!/bin/bash\n#SBATCH --array=7\ntrue\n",
			map[string]string{arrayTaskMinKey: "7", arrayTaskMaxKey: "7", arrayTaskStepKey: "1"}},
		{"HCL sweep over task ids, unsorted", "a.hcl",
			"job \"a\" {\n  task { command = \"true\" }\n  sweep {\n    values = { SLURM_ARRAY_TASK_ID = [9, 1, 5] }\n  }\n}\n",
			map[string]string{arrayTaskMinKey: "1", arrayTaskMaxKey: "9", arrayTaskStepKey: "4"}},
		{"HCL sweep over other values", "a.hcl",
			"job \"a\" {\n  task { command = \"true\" }\n  sweep {\n    values = { lr = [0.1, 0.01] }\n  }\n}\n", none},
		{"HCL sweep over task ids that are not numbers", "a.hcl",
			"job \"a\" {\n  task { command = \"true\" }\n  sweep {\n    values = { SLURM_ARRAY_TASK_ID = [\"a\", \"b\"] }\n  }\n}\n", none},
		{"no array", "a.sh", "#!/bin/bash\n#SBATCH -J one\ntrue\n", none},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Parse(tc.file, []byte(tc.src), scriptOptions())
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range res.Jobs {
				got := map[string]string{}
				for _, k := range []string{arrayTaskMinKey, arrayTaskMaxKey, arrayTaskStepKey} {
					if v, ok := j.Task.Env[k]; ok {
						got[k] = v
					}
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Fatalf("member %d (-want +got):\n%s", j.ArrayIndex, diff)
				}
			}
			if len(res.Jobs) < 2 {
				return
			}
			// The same in every member: the sweep's template carries them.
			spec, err := structs.NewSweepSpecFields(res.Jobs, res.SweepFields)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if spec.Template.Task.Env[k] != v {
					t.Errorf("sweep template: %s=%q, want %q", k, spec.Template.Task.Env[k], v)
				}
			}
		})
	}
}
