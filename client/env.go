package client

import (
	"slices"
	"strconv"
	"strings"

	"github.com/nai-project/nai/client/executor"
	"github.com/nai-project/nai/structs"
)

// Defaults for a task whose agent runs with a bare environment.
const (
	defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	defaultHome = "/root"
	defaultLang = "C.UTF-8"
)

// taskEnvInput is what the environment of a task is made from.
type taskEnvInput struct {
	Alloc         *structs.Allocation
	Job           *structs.Job
	NodeName      string
	WorkDir       string // where the job's code is unpacked: SLURM_SUBMIT_DIR
	OutputDir     string
	MetricsFile   string
	CheckpointDir string
	// Getenv reads the agent's own environment (os.Getenv).
	Getenv func(string) string
	// User, when set, is the account the task runs as.
	User *executor.User
	// AgentUID is the agent's effective uid (os.Geteuid): a task of
	// another account does not get the agent's PATH.
	AgentUID uint32
	// Datasets and Models the job reads, where they are on this node.
	Datasets, Models []artifactDir
	// APIAddr is where the task reaches the nai API (its agent's HTTP
	// address): NAI_ADDR, as the CLI reads it.
	APIAddr string
	// Port is a service replica's port (NAI_PORT).
	Port int
}

// taskEnv builds the environment of a task, sorted by key. User values from
// task.env win over the base ones, but never over CUDA_VISIBLE_DEVICES and
// NAI_*: those say what the job was given, and a job must not widen them.
func taskEnv(in taskEnvInput) []string {
	env := map[string]string{}
	base := func(k, def string) {
		if v := in.Getenv(k); v != "" {
			env[k] = v
		} else if def != "" {
			env[k] = def
		}
	}
	base("PATH", defaultPath)
	base("HOME", defaultHome)
	base("LANG", defaultLang)
	base("TZ", "")
	if u := in.User; u != nil {
		env["USER"], env["LOGNAME"] = u.Name, u.Name
		if u.Home != "" {
			env["HOME"] = u.Home
		}
		if u.UID != in.AgentUID {
			// The agent's PATH is its own account's (root's
			// ~/go/bin, pyenv shims, ...): a task of another account
			// gets the system's, as a fresh login would, not
			// directories it may not even read. task.env may set one.
			env["PATH"] = defaultPath
			if u.Home == "" && in.WorkDir != "" {
				// Nor the agent's HOME (/root): an account without
				// one gets the task's own work dir, where caches
				// such as ~/.cache can be written.
				env["HOME"] = in.WorkDir
			}
		}
	}
	env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
	// Python writes to a pipe in blocks: without this a job's prints
	// would reach its log (and `nai job run`, interleaved with stderr)
	// late and out of order with its tracebacks. A job may set it to "".
	env["PYTHONUNBUFFERED"] = "1"

	for k, v := range in.Job.Task.Env {
		if reservedEnv(k) {
			continue
		}
		env[k] = v
	}

	a, j := in.Alloc, in.Job
	res := a.Resources
	if res.CPU == 0 && res.MemoryBytes == 0 {
		res = j.Resources
	}
	gpus := make([]string, len(a.GPUs))
	for i, g := range a.GPUs {
		gpus[i] = strconv.Itoa(g)
	}
	env["CUDA_VISIBLE_DEVICES"] = strings.Join(gpus, ",")
	env["NAI_JOB_ID"] = a.JobID
	env["NAI_ALLOC_ID"] = a.ID
	env["NAI_JOB_NAME"] = j.Name
	env["NAI_NODE_NAME"] = in.NodeName
	env["NAI_ATTEMPT"] = strconv.Itoa(a.Attempt)
	env["NAI_OUTPUT_DIR"] = in.OutputDir
	env["NAI_METRICS_FILE"] = in.MetricsFile
	env["NAI_CHECKPOINT_DIR"] = in.CheckpointDir
	env["NAI_NUM_GPUS"] = strconv.Itoa(len(a.GPUs))
	env["NAI_CPUS"] = strconv.FormatFloat(res.CPU, 'f', -1, 64)
	env["NAI_MEMORY_MB"] = strconv.FormatInt(res.MemoryBytes>>20, 10)
	if in.APIAddr != "" {
		env["NAI_ADDR"] = in.APIAddr
	}
	for k, v := range j.SweepValues {
		env["NAI_SWEEP_"+envName(k)] = v
	}
	artifactEnv(env, in.Datasets, in.Models)
	if len(j.Models) > 0 {
		env["NAI_MODEL_NAME"], env["NAI_MODEL_VERSION"] = j.Models[0].Name, j.Models[0].Version
	}
	if j.IsService() {
		env["NAI_PORT"] = strconv.Itoa(in.Port)
		env["NAI_SERVICE_NAME"] = j.Name
		env["NAI_REPLICA"] = strconv.Itoa(a.Replica)
		env["NAI_SERVICE_VERSION"] = strconv.Itoa(a.JobVersion)
	}
	slurmEnv(env, in, res)
	threadEnv(env, in.Job, res)
	if g := a.Gang; g != nil && g.Nodes > 1 {
		// For torchrun and friends: one launcher per node, starting
		// NPROC_PER_NODE workers. They override task.env: the gang's
		// shape is the cluster's to say. The PET_* copies are torchrun's
		// own defaults for its flags, so a plain `torchrun train.py`
		// joins the gang's world.
		perNode := procsPerNode(j, a)
		gang := map[string]string{
			"MASTER_ADDR":    g.MasterAddr,
			"MASTER_PORT":    strconv.Itoa(g.MasterPort),
			"NNODES":         strconv.Itoa(g.Nodes),
			"NODE_RANK":      strconv.Itoa(a.Rank),
			"NPROC_PER_NODE": strconv.Itoa(perNode),
		}
		for k, v := range gang {
			env[k] = v
			env["PET_"+k] = v
		}
		env["WORLD_SIZE"] = strconv.Itoa(g.Nodes * perNode)
	}

	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// procsPerNode is NPROC_PER_NODE: what the job asked for (nproc_per_node,
// sbatch's --ntasks-per-node), else one per GPU, else one.
func procsPerNode(j *structs.Job, a *structs.Allocation) int {
	if j.Task.NProcPerNode > 0 {
		return j.Task.NProcPerNode
	}
	return max(len(a.GPUs), 1)
}

// threadVars are the variables by which OpenMP, MKL and OpenBLAS (and so
// PyTorch and NumPy) size their thread pools.
var threadVars = []string{"OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"}

// threadEnv sizes the job's thread pools to its CPU limit. The limit is a
// CFS quota, not a cpuset: without these the libraries see every core of
// the host, start a thread on each, and spend the quota in a burst and the
// rest of each period throttled. Each process of a task (nproc_per_node of
// them) gets floor(cpu / processes), at least 1, as SLURM_CPUS_PER_TASK
// says: the floor, because one thread more than the quota holds is
// throttled every period, which stalls the others at every barrier, where
// one too few leaves part of a core unused. A job's own value (task.env)
// wins; a job without a CPU limit gets none.
func threadEnv(env map[string]string, j *structs.Job, res structs.Resources) {
	if res.CPU <= 0 {
		return
	}
	n := strconv.Itoa(cpusPerTask(res.CPU, j))
	for _, k := range threadVars {
		if _, set := j.Task.Env[k]; !set {
			env[k] = n
		}
	}
}

// cpusPerTask is the CPUs of each of a task's processes: the granted CPUs
// over nproc_per_node, rounded down, at least 1.
func cpusPerTask(cpu float64, j *structs.Job) int {
	return max(int(cpu)/max(j.Task.NProcPerNode, 1), 1)
}

func reservedEnv(k string) bool {
	return k == "CUDA_VISIBLE_DEVICES" || strings.HasPrefix(k, "NAI_")
}

// envName turns a sweep parameter name ("learning-rate") into an
// environment variable suffix ("LEARNING_RATE").
func envName(s string) string {
	b := []byte(strings.ToUpper(s))
	for i, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}
