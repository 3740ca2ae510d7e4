package client

import (
	"math"
	"strconv"
	"strings"

	"github.com/nai-project/nai/structs"
)

// slurmEnv sets the variables a Slurm batch job sees, so that scripts
// brought from Slurm (and tools that read them) work unchanged. They say
// what the cluster gave, so they override task.env.
//
// nai runs a job's task once on each of its nodes, the way
// `srun --ntasks-per-node=1` would, so the view is that of one task per
// node: SLURM_NODEID is the node's rank and SLURM_PROCID the global rank of
// the first of its tasks. SLURM_NTASKS counts nproc_per_node (sbatch's
// --ntasks-per-node, default 1) on every node. SLURM_SUBMIT_DIR is where
// the job's uploaded code folder (the script's folder, for a script) is
// unpacked on this node, its working directory unless task.workdir says
// otherwise. The SLURM_ARRAY_* variables are set for members of a sweep
// only, as Slurm sets them for array jobs only; those of an --array's
// range (MIN, MAX, STEP) come from task.env, where the CLI put them.
func slurmEnv(env map[string]string, in taskEnvInput, res structs.Resources) {
	a, j := in.Alloc, in.Job
	nodes, rank := 1, 0
	nodeList := []string{in.NodeName}
	if g := a.Gang; g != nil && g.Nodes > 1 {
		nodes, rank = g.Nodes, a.Rank
		nodeList = g.NodeNames
		if len(nodeList) != g.Nodes {
			// A server that does not name the gang's nodes: this node
			// is the one it is sure of.
			nodeList = []string{in.NodeName}
		}
	}
	tasks := max(j.Task.NProcPerNode, 1)
	gpus := make([]string, len(a.GPUs))
	for i, g := range a.GPUs {
		gpus[i] = strconv.Itoa(g)
	}
	set := func(v string, keys ...string) {
		for _, k := range keys {
			env[k] = v
		}
	}
	set(a.JobID, "SLURM_JOB_ID", "SLURM_JOBID")
	set(j.Name, "SLURM_JOB_NAME")
	set(j.User, "SLURM_JOB_USER")
	set(j.Queue, "SLURM_JOB_PARTITION")
	set(strconv.Itoa(nodes), "SLURM_NNODES", "SLURM_JOB_NUM_NODES")
	set(strings.Join(nodeList, ","), "SLURM_JOB_NODELIST", "SLURM_NODELIST")
	set(strconv.Itoa(rank), "SLURM_NODEID")
	set(strconv.Itoa(rank*tasks), "SLURM_PROCID")
	set("0", "SLURM_LOCALID")
	set(strconv.Itoa(nodes*tasks), "SLURM_NTASKS", "SLURM_NPROCS")
	set(strconv.Itoa(tasks), "SLURM_NTASKS_PER_NODE")
	set(in.NodeName, "SLURMD_NODENAME")
	set(strconv.Itoa(cpusPerTask(res.CPU, j)), "SLURM_CPUS_PER_TASK")
	set(strconv.Itoa(int(math.Ceil(res.CPU))), "SLURM_CPUS_ON_NODE")
	set(strconv.FormatInt(res.MemoryBytes>>20, 10), "SLURM_MEM_PER_NODE")
	set(strconv.Itoa(len(a.GPUs)), "SLURM_GPUS_ON_NODE")
	set(strings.Join(gpus, ","), "SLURM_JOB_GPUS")
	set(in.WorkDir, "SLURM_SUBMIT_DIR")
	if j.ArrayID != "" || len(j.SweepValues) > 0 {
		arrayID := j.ArrayID
		if arrayID == "" {
			arrayID = a.JobID // an array of one is a plain job to the servers
		}
		set(arrayID, "SLURM_ARRAY_JOB_ID")
		set(j.ArrayTaskID(), "SLURM_ARRAY_TASK_ID")
		set(strconv.Itoa(max(j.ArraySize, 1)), "SLURM_ARRAY_TASK_COUNT")
		if _, ok := j.SweepValues[structs.ArrayTaskIDKey]; !ok {
			// The task ids are the member indices, 0 to n-1. An
			// --array's own ids are known only to the whole array: the
			// CLI wrote its MIN, MAX and STEP into every member's
			// task.env (jobspec/array_env.go).
			set("0", "SLURM_ARRAY_TASK_MIN")
			set(strconv.Itoa(max(j.ArraySize, 1)-1), "SLURM_ARRAY_TASK_MAX")
			set("1", "SLURM_ARRAY_TASK_STEP")
		}
	}
}
