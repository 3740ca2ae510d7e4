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
		UsageText: "nai sim -trace FILE.csv -nodes N -gpus-per-node G -policy " + strings.Join(sim.Policies, "|") +
			" [-limit-factor F] [-max-jobs N] [-json]",
		Description: "The trace is CSV with a header and at least job_id,submit_time_s,num_gpus,duration_s;\n" +
			"user and time_limit_s are used when present. Without a time limit a job gets\n" +
			"duration x -limit-factor. A job needing more GPUs than a node has runs as a gang\n" +
			"over several nodes; one that needs more nodes than there are never fits.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "trace", Usage: "CSV trace `FILE`"},
			&cli.IntFlag{Name: "nodes", Usage: "number of nodes", Value: 80},
			&cli.IntFlag{Name: "gpus-per-node", Usage: "GPUs on each node", Value: 8},
			&cli.StringFlag{Name: "policy", Usage: "scheduling policy: " + strings.Join(sim.Policies, ", "), Value: "backfill"},
			&cli.Float64Flag{Name: "limit-factor", Usage: "time limit = duration x `F` for jobs without one", Value: 2.0},
			&cli.IntFlag{Name: "max-jobs", Usage: "replay only the first `N` jobs (0: all)"},
			&cli.BoolFlag{Name: "json", Usage: "print the result as one JSON object"},
		},
		Action: runSim,
	}
}

func runSim(c *cli.Context) error {
	usage := "nai sim -trace FILE.csv -nodes N -gpus-per-node G -policy P"
	if c.Args().Len() > 0 {
		return &usageError{msg: fmt.Sprintf("unexpected arguments %q", c.Args().Slice()), usage: usage}
	}
	path := c.String("trace")
	if path == "" {
		return &usageError{msg: "missing -trace", usage: usage}
	}
	opt := sim.Options{Nodes: c.Int("nodes"), GPUsPerNode: c.Int("gpus-per-node"), Policy: c.String("policy")}
	if _, err := sim.PolicyConfig(opt.Policy); err != nil {
		return &usageError{msg: err.Error(), usage: usage}
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open trace: %w", err)
	}
	defer f.Close()
	jobs, err := sim.ReadTrace(f, sim.TraceOptions{LimitFactor: c.Float64("limit-factor"), MaxJobs: c.Int("max-jobs")})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	// A replay makes much short-lived garbage over a large live heap (the
	// whole trace); collecting less often makes it markedly faster, and
	// this process does nothing else.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	began := time.Now()
	res, err := sim.Run(jobs, opt)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		b, err := json.Marshal(res)
		if err != nil {
			return fmt.Errorf("encode result: %w", err)
		}
		_, err = fmt.Fprintf(c.App.Writer, "%s\n", b)
		return err
	}
	sim.WriteText(c.App.Writer, res)
	fmt.Fprintf(c.App.ErrWriter, "replayed %d jobs in %s\n", len(jobs), time.Since(began).Round(time.Millisecond))
	return nil
}
