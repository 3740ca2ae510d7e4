// Command nai is nai's command line: `nai agent` runs a server, a GPU
// client, or both; every other command is a thin client of the HTTP API
// (package api), talking to the agent at -address, else $NAI_ADDR, else
// http://127.0.0.1:4646, as the local account (sent as the acting user and
// recorded as the owner of what it submits).
//
// Commands defined here (flags go before or after the arguments):
//
//	nai job run [-detach] [-json] [-var k=v]... [-var-file F]... FILE
//	    Parse and validate FILE locally ("-" reads stdin; HCL, a JSON job,
//	    or an sbatch script, whose warnings go to stderr by line);
//	    a bad file prints file:line:col diagnostics and exits 1 without
//	    contacting the agent. Upload the code folder if the job has one,
//	    submit, then follow the job like srun: state changes on stderr
//	    ("==> job 12 running on node dev (GPUs 0,1)"), its stdout on stdout,
//	    a summary line, and exit with the job's exit code (1 when it failed
//	    without one, was cancelled or lost). Ctrl-C stops following and leaves
//	    the job running. -detach prints only the job id (the array id for a
//	    sweep), like sbatch --parsable. A sweep is followed member by member
//	    without logs. A job whose script named --output/--error files gets
//	    its logs written there when it ends (sbatch.go).
//	nai job validate FILE              exit 0, or print every problem
//	nai job convert SCRIPT             the job file that submits the same job as
//	                                   an sbatch script; its warnings on stderr
//	nai job status [-json] ID          state, reason, node, GPUs, times, exit, attempts, metrics
//	nai job plan [-json] [-var k=v]... [-var-file F]... FILE
//	    Dry run (like nomad job plan, sbatch --test-only): the cluster's
//	    scheduler runs on its current state with the job added and says
//	    which node and GPUs it would get now, or why it would wait and its
//	    estimated start. Nothing is submitted. Exits 0 when every job would
//	    start now, 1 when any would wait, 2 on any error.
//	nai job inspect [-hcl|-json] ID    the job as the server holds it: JSON, or
//	                                   a job file (-hcl) that job run accepts
//	nai job logs [-f] [-stderr] ID     the raw stream (and the --output/--error
//	                                   files of a job from a script, rewritten);
//	                                   -attempt N: an earlier attempt's log
//	nai job cancel ID
//	nai job update -time D ... ID      change pending jobs (scontrol update);
//	                                   each must pass a submission's checks
//	nai job outputs ID [-o DIR]        download NAI_OUTPUT_DIR and unpack it safely
//	nai job metrics [-json] ID         last value of each metric, sorted by key; one
//	                                   that became NaN or ±Infinity shows as such,
//	                                   with a line saying where, and lines of
//	                                   NAI_METRICS_FILE that were not JSON are counted
//	nai queue [-json] [-all]           squeue-like table, in the scheduler's order;
//	                                   pending sweep members fold into 12_[3-9]
//	nai node list [-json]
//	nai node status [-json] ID | -self details and a table of GPUs with the job holding each;
//	                                   -self: the node of the client agent at -address
//	nai version [-json], nai -version  version, commit, Go version (internal/version)
//	nai completion bash|zsh|fish       a completion script generated from the command tree
//
// extra.go adds agent, executor, exec-shim, sim, version and completion. A
// cluster agent reloads its configuration on SIGHUP (agent_reload.go) and
// tells systemd when it is ready ($NOTIFY_SOCKET).
//
// The package builds two binaries (agent_bin.go): with the nai_cli tag,
// nai, the CLI and the per-job executor (package client/executor), where
// agent_forward.go makes `nai agent` exec nai-agent; without it, nai-agent,
// all of the above plus the agent (the agent*.go files, tagged !nai_cli).
// internal/archtest checks that the CLI binary links no agent package. The
// agent prefers cmd/nai-executor, a third binary of the executor alone,
// for each job's executor (executorBinary in agent_bin.go).
//
// Exit status: 0 on success; 1 for any error (a usage mistake prints one line
// with the usage; an unreachable agent names the address it tried);
// 130 after Ctrl-C; `job run` exits with the job's code; `job plan` as above.
//
// The formatting functions take the current time as an argument, so their
// output is fixed for a fixed input (golden files in testdata/). Nothing
// imports this package; it imports api, jobspec, structs and
// internal/archive, and only the agent command wires server and client.
package main
