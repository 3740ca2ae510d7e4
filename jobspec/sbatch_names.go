package jobspec

import (
	"slices"
	"strings"
)

// sbatchLongNames are all of sbatch's long options (Slurm 22.05 to 24.x,
// and the spellings burst-buffer and cpu-bind that nai's table has too),
// in nai's table (sbatchOptions) or not: one that nai does not know is
// ignored with a warning, while a name that is none of them is refused,
// as sbatch refuses it. Kept sorted.
var sbatchLongNames = []string{
	"account", "acctg-freq", "array", "batch", "bb", "bbf", "begin",
	"burst-buffer",
	"chdir", "cluster-constraint", "clusters", "comment", "constraint",
	"container", "container-id", "contiguous", "core-spec",
	"cores-per-socket", "cpu-bind", "cpu-freq", "cpus-per-gpu", "cpus-per-task",
	"deadline", "delay-boot", "dependency", "distribution", "error",
	"exclude", "exclusive", "export", "export-file", "extra",
	"extra-node-info", "get-user-env", "gid", "gpu-bind", "gpu-freq",
	"gpus", "gpus-per-node", "gpus-per-socket", "gpus-per-task", "gres",
	"gres-flags", "help", "hint", "hold", "ignore-pbs", "immediate",
	"input", "job-name", "kill-on-invalid-dep", "licenses", "mail-type",
	"mail-user", "mcs-label", "mem", "mem-bind", "mem-per-cpu",
	"mem-per-gpu", "mincpus", "network", "nice", "no-kill", "no-requeue",
	"nodefile", "nodelist", "nodes", "ntasks", "ntasks-per-core",
	"ntasks-per-gpu", "ntasks-per-node", "ntasks-per-socket", "open-mode",
	"output", "overcommit", "oversubscribe", "parsable", "partition",
	"power", "prefer", "priority", "profile", "propagate", "qos", "quiet",
	"reboot", "requeue", "reservation", "signal", "sockets-per-node",
	"spread-job", "switches", "test-only", "thread-spec",
	"threads-per-core", "time", "time-min", "tmp", "tres-bind",
	"tres-per-task", "uid", "usage", "use-min-nodes", "verbose", "version",
	"wait", "wait-all-nodes", "wckey", "wrap",
}

// sbatchShortNames are sbatch's one-letter options.
const sbatchShortNames = "AaBbCcDdeFGHhIiJkLMmNnOopQqSstVvWwx"

// resolveLong finds the sbatch option a long name means, as getopt_long
// does: the option of that name, else the one option it abbreviates
// (--job-n is --job-name). It returns the options an ambiguous
// abbreviation could be, and ok false when the name is no sbatch option.
func resolveLong(name string) (full string, ambiguous []string, ok bool) {
	if name == "workdir" || slices.Contains(sbatchLongNames, name) {
		return name, nil, true
	}
	if name == "" {
		return "", nil, false
	}
	for _, n := range sbatchLongNames {
		if strings.HasPrefix(n, name) {
			ambiguous = append(ambiguous, n)
		}
	}
	if len(ambiguous) == 1 {
		return ambiguous[0], nil, true
	}
	return "", ambiguous, false
}
