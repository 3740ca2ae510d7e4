package jobspec

import (
	"slices"
	"strconv"

	"github.com/nai-project/nai/structs"
)

// The shape of a Slurm array as its members see it. A member's job holds
// its own task id (its SLURM_ARRAY_TASK_ID sweep value) and the number of
// members, not the others' ids, so the node that runs it cannot work out
// the array's first and last id or its step. They are written into every
// member's environment here, where the whole array is known, as values
// the same in every member (a sweep's template carries them once). A
// sweep whose task ids are its indices, 0 to n-1, gets them from the
// client instead, from its size.
const (
	arrayTaskMinKey  = "SLURM_ARRAY_TASK_MIN"
	arrayTaskMaxKey  = "SLURM_ARRAY_TASK_MAX"
	arrayTaskStepKey = "SLURM_ARRAY_TASK_STEP"
)

// setArrayRangeEnv sets SLURM_ARRAY_TASK_MIN, _MAX and _STEP in every
// member of an array whose members carry task ids (an #SBATCH --array, or
// a sweep over SLURM_ARRAY_TASK_ID such as nai job convert writes). It
// leaves other sweeps alone, and an array with a member whose value is no
// task id, which structs.Job.ArrayTask numbers by index.
func setArrayRangeEnv(members []*structs.Job) {
	ids := make([]int, 0, len(members))
	for _, j := range members {
		v, ok := j.SweepValues[structs.ArrayTaskIDKey]
		if !ok {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || strconv.Itoa(n) != v {
			return
		}
		ids = append(ids, n)
	}
	if len(ids) == 0 {
		return
	}
	slices.Sort(ids)
	lo, hi, step := strconv.Itoa(ids[0]), strconv.Itoa(ids[len(ids)-1]), strconv.Itoa(arrayStep(ids))
	for _, j := range members {
		if j.Task.Env == nil {
			j.Task.Env = make(map[string]string, 3)
		}
		j.Task.Env[arrayTaskMinKey], j.Task.Env[arrayTaskMaxKey], j.Task.Env[arrayTaskStepKey] = lo, hi, step
	}
}

// arrayStep is the step of sorted task ids: the distance between
// neighbours when all are evenly spaced (--array=0-15:4 gives 4, and so
// does 0,4,8), else 1, as Slurm reads it from the array's ids.
func arrayStep(ids []int) int {
	if len(ids) < 2 || ids[1] == ids[0] {
		return 1
	}
	step := ids[1] - ids[0]
	for i := 2; i < len(ids); i++ {
		if ids[i]-ids[i-1] != step {
			return 1
		}
	}
	return step
}
