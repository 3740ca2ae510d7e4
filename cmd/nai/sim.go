package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/nai-project/nai/sim"
	"github.com/urfave/cli/v2"
)

// simCommand is `nai sim`: replay a job trace in virtual time through the
// real scheduler and report waits, completion times and utilisation.
func simCommand() *cli.Command {
	return &cli.Command{
		Name:      "sim",
		Usage:     "replay a job trace through the scheduler in virtual time",
		ArgsUsage: " ",
		UsageText: "nai sim -trace FILE.csv [-nodes N] [-gpus-per-node G] [-policy " + strings.Join(sim.Policies, "|") + "]\n" +
			"   [-limit-factor F | -limit-noise SEED] [-single-user] [-max-jobs N] [-warmup-jobs N] [-compare] [-json]",
		Description: "The trace is CSV with a header and at least job_id,submit_time_s,num_gpus,duration_s;\n" +
			"user and time_limit_s are used when present. Without a time limit a job gets\n" +
			"duration x -limit-factor; -limit-noise SEED gives every job the limit a user would\n" +
			"guess instead (duration x U[1,5] from a generator seeded with SEED, rounded up to\n" +
			"15 minutes). -single-user makes every job one user's, so fair share cannot help.\n" +
			"Without -policy the replay uses the live default policy (what `nai agent` runs).\n" +
			"-compare also replays the shortest-job-first oracle (which knows true run times)\n" +
			"and EASY backfill, and prints the average JCT over the oracle's and the p99 wait\n" +
			"over EASY's. A job needing more GPUs than a node has runs as a gang over several\n" +
			"nodes; one that needs more nodes than there are never fits.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "trace", Usage: "CSV trace `FILE`"},
			&cli.IntFlag{Name: "nodes", Usage: "number of nodes", Value: 80},
			&cli.IntFlag{Name: "gpus-per-node", Usage: "GPUs on each node", Value: 8},
			&cli.StringFlag{Name: "policy", Usage: "scheduling policy: " + strings.Join(sim.Policies, ", ") + " (unset: " + sim.DefaultPolicy + ", what nai agent runs)"},
			&cli.Float64Flag{Name: "limit-factor", Usage: "time limit = duration x `F` for jobs without one", Value: 2.0},
			&cli.Int64Flag{Name: "limit-noise", Usage: "time limit = duration x U[1,5] drawn with `SEED`, rounded up to 15 minutes, for every job"},
			&cli.BoolFlag{Name: "single-user", Usage: "every job belongs to one user"},
			&cli.IntFlag{Name: "max-jobs", Usage: "replay only the first `N` jobs (0: all)"},
			&cli.IntFlag{Name: "warmup-jobs", Usage: "replay the first `N` jobs but leave them out of the figures"},
			&cli.BoolFlag{Name: "compare", Usage: "also replay the SJF oracle and EASY backfill and print the ratios"},
			&cli.BoolFlag{Name: "json", Usage: "print the result as one JSON object"},
		},
		Action: runSim,
	}
}

func runSim(c *cli.Context) error {
	usage := "nai sim -trace FILE.csv -nodes N -gpus-per-node G [-policy P]"
	if c.Args().Len() > 0 {
		return &usageError{msg: fmt.Sprintf("unexpected arguments %q", c.Args().Slice()), usage: usage}
	}
	path := c.String("trace")
	if path == "" {
		return &usageError{msg: "missing -trace", usage: usage}
	}
	opt := sim.Options{Nodes: c.Int("nodes"), GPUsPerNode: c.Int("gpus-per-node"), Policy: c.String("policy"),
		WarmupJobs: c.Int("warmup-jobs")}
	if opt.Policy == "" {
		opt.Policy = sim.DefaultPolicy
	}
	if _, err := sim.PolicyConfig(opt.Policy); err != nil {
		return &usageError{msg: err.Error(), usage: usage}
	}
	topt := sim.TraceOptions{LimitFactor: c.Float64("limit-factor"), MaxJobs: c.Int("max-jobs"), SingleUser: c.Bool("single-user")}
	if c.IsSet("limit-noise") {
		seed := c.Int64("limit-noise")
		if seed < 0 {
			return &usageError{msg: fmt.Sprintf("-limit-noise %d: expected a seed of 0 or more", seed), usage: usage}
		}
		if c.IsSet("limit-factor") {
			return &usageError{msg: "-limit-noise and -limit-factor both set the time limits: use one", usage: usage}
		}
		topt.NoisyLimits, topt.NoiseSeed = true, uint64(seed)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open trace: %w", err)
	}
	defer f.Close()
	jobs, err := sim.ReadTrace(f, topt)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	// A replay makes much short-lived garbage; collecting less often makes
	// it markedly faster, and this process does nothing else.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	began := time.Now()
	var res any
	if c.Bool("compare") {
		cmp, err := sim.Compare(jobs, opt)
		if err != nil {
			return err
		}
		res = cmp
		if !c.Bool("json") {
			sim.WriteComparison(c.App.Writer, cmp)
		}
	} else {
		r, err := sim.Run(jobs, opt)
		if err != nil {
			return err
		}
		res = r
		if !c.Bool("json") {
			sim.WriteText(c.App.Writer, r)
		}
	}
	if c.Bool("json") {
		b, err := json.Marshal(res)
		if err != nil {
			return fmt.Errorf("encode result: %w", err)
		}
		_, err = fmt.Fprintf(c.App.Writer, "%s\n", b)
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "replayed %d jobs in %s\n", len(jobs), time.Since(began).Round(time.Millisecond))
	return nil
}
