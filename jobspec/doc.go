// Package jobspec parses nai job files (HCL, the API's JSON job object, or
// a Slurm batch script with #SBATCH lines) into structs.Job, with
// diagnostics that name file, line and column.
//
// It knows nothing of servers: it reads the file (and any -var-file), checks
// everything that can be checked without the cluster, and returns jobs that
// have passed structs' Canonicalize and Validate. The caller uploads the
// code folder (Result.CodePath) and fills in Job.Code and the owner; the
// owner is never taken from the file. jobspec imports structs only, never
// api, server or client.
//
// # The language
//
// A file holds exactly one job block, plus any variable and locals blocks:
//
//	variable "epochs" {
//	  type        = number        # any HCL type; none means string from -var
//	  default     = 5             # a constant; without one the variable is required
//	  description = "passes over the data"
//	}
//
//	locals {
//	  run = "mlp-${var.epochs}"   # may use var.* and other locals; cycles are refused
//	}
//
//	job "digits-mlp" {            # name: letters, digits, '.', '_', '-'
//	  queue       = "default"
//	  priority    = 50            # 0-100 (0 or unset means the default, 50)
//	  time_limit  = "2h30m"       # Go duration string; at most 366 days; shorter moves the job up
//	  begin_after = "2h"          # a duration from submission, or RFC 3339 "2026-03-01T09:00:00Z"
//	  preemptible = true          # a job of a queue of higher priority_tier may stop (and requeue) it; only
//	                              # such a job: with one tier (the default queue alone) nothing is preempted
//	  group       = "vision"      # owning group
//	  description = local.run
//	  labels      = { team = "vision" }
//	  code        = "./src"       # local folder, relative to this file; uploaded at submit
//	  depends_on  = ["afterok:12", "afterany:13", "afternotok:14_2", "15"]  # bare id = afterok; a job id or an array member
//	  singleton   = true          # wait while a job of this name and owner runs or waits
//	  hold        = true          # submit held: it waits until nai job release (sbatch --hold)
//
//	  dataset "digits" { version = "latest" }   # 0..n; version "latest" or a number; read-only at
//	                                            # NAI_DATASET_DIR; "latest" is resolved at submit (a job
//	                                            # waited for that makes a newer version is warned of)
//	  model "base-mlp" { version = 3 }          # 0..n; read-only at NAI_MODEL_DIR
//
//	  resources {
//	    cpu    = 0.5              # cores, fractions allowed (default 1)
//	    memory = "4GiB"           # sizes need a unit (see Sizes below); default 1GiB
//	    disk   = "20GB"
//	    nodes  = 1                # > 1: a multi-node job, each node gets these resources
//	    exclusive = true          # whole nodes: no other job shares them
//	    gpu {
//	      count  = 1
//	      model  = "H100"         # case-insensitive substring of the product name
//	      memory = "40GiB"        # minimum per GPU
//	    }
//	  }                           # more than any registered node has (per node), or a GPU model none
//	                              # has: accepted, with a warning saying what the largest node has; the
//	                              # job waits (NoNodeFits) until such a node joins
//
//	  task {                      # exactly one of command (with args) or script
//	    nproc_per_node = 4        # processes per node (NPROC_PER_NODE); default one per GPU
//	    command = "python3"
//	    args    = ["train.py", "--epochs", var.epochs]   # numbers become strings
//	    env     = { SEED = "1" }
//	    workdir = "src"
//	    user    = "trainer"
//	    # script = <<-EOT
//	    #   python3 train.py      (run by /bin/bash -e; one that starts with #!
//	    # EOT                      runs as a file, by the interpreter it names;
//	    #                          args, if any, are its $1...)
//	  }
//
//	  logs {                      # local files the CLI writes the logs to when it
//	    stdout = "logs/%x-%j.out" # downloads them; %j, %A, %a, %x, %u, %N, %% as
//	    stderr = "logs/%x-%j.err" # in sbatch (see ExpandLogPath); no stderr: after stdout
//	  }
//
//	  retry {
//	    attempts = 3              # 0-100
//	    on       = ["node-lost", "preempted", "failed"]   # "preempted" covers node drains too
//	  }
//
//	  output {
//	    model = "digits-mlp"      # register NAI_OUTPUT_DIR as the next version of this model: one
//	                              # version for each job that completes, with its lineage, even
//	                              # when its outputs equal an earlier version's (nai model push
//	                              # of equal content makes none: it has no job to record)
//	    # dataset = "digits-clean" # ... or of this dataset (one of the two), with lineage;
//	    #                          # outputs equal to its latest version make no new one
//	    keep  = ["*.pt"]          # keep only what these globs match (default: everything)
//	    serve = ["python3", "serve.py"]   # the version's serve command (nai serve); without it,
//	  }                           # a serve.py among the outputs is run with python3
//
//	  sweep {                     # one submission becomes an array of jobs
//	    mode         = "grid"     # every combination (default), or "zip": i-th values together
//	    max_parallel = 2          # at most this many members run at once (0: no limit)
//	    values = {
//	      lr    = [0.1, 0.01, 0.001]
//	      batch = [32, 64]
//	    }
//	  }
//	}
//
// output { keep } leaves out of the job's outputs (nai job outputs, and
// the model or dataset version) every file and symlink its globs do not
// match. Globs are path.Match patterns on the path below NAI_OUTPUT_DIR,
// with "/" as separator and "*" never crossing it. A glob without "/" is
// matched against each name along that path: "*.pt" keeps model.pt and
// ckpt/last.pt, and "ckpt" keeps everything in any folder named ckpt. A
// glob with "/" is matched from the top, against the path and each folder
// above it: "ckpt/*.pt" keeps ckpt/last.pt, not ckpt/old/last.pt, and
// "runs/best" keeps all of runs/best. A trailing "/" is dropped; a leading
// "/" or a bad glob is an error when the file is read. Folders are packed
// only when they hold something kept, and a serve.py that is not kept is
// not the model's serve command. When nothing matches, the job ends as it
// would have, with no outputs and no new version; its allocation says so
// (nai job status), and so does the client's log.
//
// A service runs until it is stopped, as replicas that answer HTTP (`type =
// "service"` and a service block; a batch job may not have one; time_limit,
// retry, output, singleton and sweeps are for batch jobs):
//
//	job "digits-api" {
//	  type = "service"
//	  model "digits-cnn" { version = 2 }
//	  task { script = "cd $NAI_MODEL_DIR && exec python3 serve.py" }  # listens on $NAI_PORT
//	  service {
//	    replicas        = 2       # 1-1000, each an allocation on one node
//	    port            = "http"  # the port's name; the client picks its number (NAI_PORT)
//	    unhealthy_after = 3       # failed checks in a row that restart a replica
//	    public          = false   # true: anyone may call it, without a token
//	    preemptible     = false   # true: training of a higher tier may preempt its replicas
//	    shutdown_delay  = "1s"    # a stopped replica serves this long before SIGTERM
//	    health {
//	      path     = "/health"    # GET, 2xx or 3xx is healthy
//	      interval = "2s"
//	      timeout  = "1s"         # at most the interval
//	      grace    = "30s"        # failures after a (re)start do not count this long
//	    }
//	  }
//	}
//
// A sweep evaluates the job body once per member with sweep.NAME bound to
// that member's value (so "--lr=${sweep.lr}" works anywhere in the job
// block), and adds NAI_SWEEP_<NAME> to the task's environment. Grid members
// come in the order the lists are written, the last list changing fastest.
// sweep.* is not available in locals, variables, code or the sweep block.
//
// Expressions may call HCL's standard functions (upper, lower, format,
// formatlist, concat, join, split, replace, merge, range, min, max, ...; see
// functions in eval.go). Nothing reads files, the environment or the clock.
//
// Variables are set, in increasing precedence, by their default, by
// -var-file files (HCL attribute files, in order) and by -var name=value.
// A -var value is a plain string for string (or untyped) variables and an
// HCL value such as 3, true or ["a", "b"] otherwise.
//
// # Sizes
//
// memory, disk and gpu.memory are strings with a unit, case-insensitive.
// The table is structs.ParseSize's, the same for a job file, #SBATCH
// --mem and the -mem flags, so "4G" is 4 GiB everywhere, as in Slurm:
//
//	unit            means                   example
//	B               bytes                   "1048576B"
//	K, M, G, T      1024-based, as Slurm    "16G" = 16 x 2^30 bytes
//	KiB, MiB, GiB, TiB (or Ki, Mi, Gi, Ti)  "16GiB" = 16 x 2^30 bytes
//	kB, MB, GB, TB  1000-based (decimal)    "16GB" = 16 x 10^9 bytes
//
// Fractions are allowed ("1.5GiB"); a bare number is refused where it is
// far below the smallest sensible size (memory = "4"). In a batch
// script, --mem takes Slurm's form only: a whole number with K, M, G or T,
// or none for MiB.
//
// A task's script (and a batch script) must have UNIX line breaks: a file
// saved with DOS line breaks (\r\n) is refused, naming the line, since
// bash would fail on the node; dos2unix converts it.
//
// # Plugins
//
// A cluster plugin's plugin.hcl (ParsePlugin, CheckPlugin; plugin.go) is a
// job file with a plugin "NAME" { version, kind, description } block: its
// variables are the plugin's, its job block the template of the job `nai
// plugin run` submits, with the plugin's folder as its code (so it has no
// code attribute) and no sweep.
//
// # Limits
//
// A file or var file over 1 MiB, a sweep of more than 10,000 members,
// numbers beyond about 1e±19000 (numguard.go) and local values that refer
// to each other in a cycle are refused. Unknown
// attributes and blocks are errors, with a "did you mean" suggestion.
//
// # JSON
//
// Input whose first non-space byte is '{' is the API's job object
// (structs.Job, snake_case keys). Unknown keys are errors; state fields (id,
// user, status, ...) are dropped, so `nai job inspect -json` output can be
// submitted again.
//
// # Batch scripts
//
// A file whose name ends in .sh, .bash, .sbatch or .slurm, or that starts
// with "#!" or has #SBATCH lines among its leading comments, is an sbatch
// batch script (IsScript). ParseScript reads it as sbatch does: #SBATCH
// lines up to the first line that is neither blank nor a comment, each
// split into words (quotes group, a backslash escapes, an unquoted # starts
// a comment), options as --long=value, --long value, -X value or -Xvalue;
// the last of an option wins. #SBATCH lines after the first command are
// ignored, as sbatch ignores them, with a note. Every sbatch option nai
// does not honour is a Warning with its line, never dropped in silence; a
// name that is no sbatch option (nor an abbreviation of exactly one, as
// getopt takes them) is an error, as sbatch refuses it, and so is a value
// that cannot be read, at its line and column. The whole script, #SBATCH lines included, is the task's script:
// with its #! line it runs as a file, by that interpreter, as Slurm runs
// it. It runs once on each node of the job (as srun --ntasks-per-node=1
// would; a script that calls srun gets a warning, since nai nodes have no
// srun). Arguments after the script on the command line are its own, as
// with sbatch job.sh ARGS: nai job run train.sh cfg.yaml gives it $1
// (task.args beside task.script; from raft log format 8). They start at
// the first argument after the script that is not one of nai's flags;
// after "-" (the script on standard input, as contrib/slurm-compat's
// sbatch sends it) every argument is the script's.
//
// The script's folder is uploaded as the job's code (code = "."), the
// equivalent of Slurm's submit directory: the job runs in its copy on the
// node, which is SLURM_SUBMIT_DIR there. The options become:
//
//	-J, --job-name          name (characters nai does not allow become '-', with a warning);
//	                        default: the script's file name
//	-t, --time              time_limit: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS;
//	                        UNLIMITED, INFINITE or 0: none
//	-N, --nodes             resources.nodes (MIN-MAX: MIN, with a warning)
//	-n, --ntasks            tasks per node = ntasks / nodes (rounded up, with a warning)
//	--ntasks-per-node       task.nproc_per_node (unset: Slurm's one task per node)
//	--gres=gpu[:TYPE]:N     GPUs per node (TYPE: gpu model); other gres: a warning
//	--gpus-per-node=[TYPE:]N, -G/--gpus=[TYPE:]N (over all nodes: must divide evenly),
//	--gpus-per-task=[TYPE:]N (times the tasks per node): the same, and must agree
//	-c, --cpus-per-task     resources.cpu = N x tasks per node (--cpus-per-gpu: N x GPUs)
//	--mem                   resources.memory per node: N[K|M|G|T], binary, default M (MiB);
//	                        --mem=0 (the whole node): a warning, the default applies
//	--mem-per-gpu, --mem-per-cpu   the same, times the GPUs or CPUs per node
//	--tmp                   resources.disk
//	-a, --array             a sweep over SLURM_ARRAY_TASK_ID: ids and ranges START-END[:STEP],
//	                        comma-separated, then %MAX for max_parallel (0-15:4%2, 1,3,5);
//	                        every member's task.env gets SLURM_ARRAY_TASK_MIN, _MAX and _STEP
//	                        (a sweep over SLURM_ARRAY_TASK_ID in a job file too)
//	-d, --dependency        depends_on: afterok, afterany, afternotok (TYPE:ID[:ID...], joined
//	                        by ','); singleton: singleton = true. after, aftercorr and '?' are
//	                        errors: nai cannot honour them, and dropping one would start the
//	                        job too early
//	-p, --partition         queue (of a list, the first, with a warning)
//	-q, --qos               priority tier: scavenger 10 (and preemptible), low 25, normal 50,
//	                        high 75, urgent 90; other names: a warning, default priority. These
//	                        are job priorities, not queue tiers: a scavenger job is preempted
//	                        only by jobs of a queue with a higher priority_tier than its own
//	                        (examples/queues), so with the default queue alone it never is
//	-o, --output, -e, --error   logs { stdout, stderr } ("none": /dev/null; --error alone:
//	                        stdout to slurm-%j.out, as Slurm does)
//	-b, --begin             begin_after: now[+N[seconds|minutes|hours|days|weeks]], HH:MM[:SS]
//	                        (the next time the clock shows it), midnight, noon, teatime,
//	                        today, tomorrow, YYYY-MM-DD[THH:MM[:SS]], in the local time zone
//	-D, --chdir             task.workdir: relative to the uploaded folder; an absolute path
//	                        inside the script's folder becomes relative (a note), any other
//	                        must exist on the node (a warning)
//	--export                task.env: NAME=VALUE, or NAME copied from the submitting
//	                        environment (Options.LookupEnv); NONE is nai's way anyway;
//	                        ALL cannot be honoured (a warning)
//	--exclusive             resources.exclusive
//	--comment               description
//
// ConvertScript writes the job file that submits the same jobs
// (`nai job convert`); read back by Parse it gives exactly the jobs
// ParseScript does.
//
// # Writing
//
// FormatHCL writes a job back as a job file (`nai job inspect -hcl`) that
// parses to the same spec; what a file cannot hold (id, owner, sweep
// membership, code digest) goes into comments at its top.
package jobspec
