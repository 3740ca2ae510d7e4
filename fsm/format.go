package fsm

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Format is a raft log format: which commands, at which encoding versions,
// a server reads. Every server advertises the newest format it reads (the
// serf tag "lf"); the leader writes each entry in the newest format that
// every server of the cluster reads (EncodeAt), so that during a rolling
// upgrade the servers not yet upgraded never meet an entry they cannot
// apply, and the new encodings start once the last server is upgraded.
//
// To add a format: a constant below naming what it brought, LogFormat set
// to it, and in the command table the `since` of the new command or
// version, with a downgrade for a version that older formats can still
// carry (see PlanApply). Never change what a released format means.
type Format uint8

const (
	// Format1 is every command of the table at encoding version 1: what
	// nai wrote before servers advertised formats. A server that
	// advertises none reads exactly this.
	Format1 Format = 1
	// Format2 brought PlanApply version 2: a plan's preemptions and
	// cancels in its one entry.
	Format2 Format = 2
	// Format3 brought JobGC (finished jobs folded into usage rows),
	// JobCancel version 2 (cancel member 0 of a sweep alone), service jobs,
	// jobs built from plugins and sweeps as one spec (JobRegister version
	// 2), the service commands, PluginPush and node hooks (AllocUpdate
	// version 2).
	Format3 Format = 3
	// Format4 brought AllocUpdates: the reports of several nodes in one
	// entry.
	Format4 Format = 4
	// Format5 brought NodeStatus version 2 (a ready node serf declared
	// failed marked unreachable: no new work through the grace),
	// JobRegister version 3 (a dependency on the first member of an array
	// alone, Dependency.Member; also a job submitted held, Job.Hold),
	// JobGC version 2 (the members of an array a live job depends on are
	// kept) and JobHold (hold and release pending jobs).
	Format5 Format = 5
	// Format6 brought JobUpdate (change pending jobs: scontrol update).
	Format6 Format = 6
	// Format7 brought JobRegister version 4 (one job that carries sweep
	// values made an array of one, JobRegisterRequest.Array: #SBATCH
	// --array=5 is member A_5), AllocUpdate version 3 and AllocUpdates
	// version 2 (a metric that stopped being finite leaves the job's
	// Metrics for Job.NonFiniteMetrics, ClientStatusFields.NonFinite; the
	// job keeps the count of lines that were not JSON, MetricsSkipped).
	Format7 Format = 7
	// Format8 brought AllocUpdate version 4 and AllocUpdates version 3
	// (AllocUpdateRequest.RankZeroOutputs: a gang job keeps the outputs,
	// final logs and metrics history of its rank 0, whichever rank reports
	// last; older entries keep the last report's), JobRegister version 5
	// (a task script with arguments, Task.Args beside Task.Script), and
	// NodeDrain and NodeEligibility version 2 (an operator's write takes
	// over a failed hook's drain: ByOperator).
	Format8 Format = 8

	// LogFormat is the newest format this binary reads and writes.
	LogFormat = Format8
)

// ErrFormat marks a request that the cluster's log format cannot carry:
// some server is too old for it. The rolling upgrade must finish first.
var ErrFormat = errors.New("the cluster's raft log format cannot carry this request")

// formatOf is the format in which version v of c first appeared.
func (c *command) formatOf(v uint8) Format {
	if f, ok := c.since[v]; ok {
		return f
	}
	return Format1
}

// entryAppender is a request that writes its own JSON, exactly as
// json.Marshal would, faster (structs.JobRegisterRequest's sweeps).
type entryAppender interface {
	AppendEntryJSON(b []byte) ([]byte, error)
}

// EncodeAt makes a raft log entry of type t for a cluster whose servers all
// read format f: the command's newest version that f includes, the request
// passed through the command's downgrade when that version is older than
// the current one. It fails with ErrFormat when no version f includes can
// carry the request. Encode(t, req) is EncodeAt(t, req, LogFormat).
func EncodeAt(t MessageType, req any, f Format) ([]byte, error) {
	c, ok := commands[t.Base()]
	if !ok {
		return nil, fmt.Errorf("encode %s: no such command", t)
	}
	v := c.version
	if f < LogFormat && c.formatOf(v) > f {
		var versions []uint8
		for old := range c.decoders {
			if old < v && c.formatOf(old) <= f {
				versions = append(versions, old)
			}
		}
		if len(versions) == 0 || c.downgrade == nil {
			return nil, fmt.Errorf("%w: %s needs format %d, and a server of this cluster reads only format %d (upgrade every server)",
				ErrFormat, c.name, c.formatOf(v), f)
		}
		v = slices.Max(versions)
		down, err := c.downgrade(req, v)
		if err != nil {
			return nil, fmt.Errorf("%w: %s at version %d (format %d): %v", ErrFormat, c.name, v, f, err)
		}
		req = down
	}
	buf := []byte{byte(t), v}
	if a, ok := req.(entryAppender); ok {
		out, err := a.AppendEntryJSON(buf)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", t, err)
		}
		return out, nil
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", t, err)
	}
	return append(buf, body...), nil
}

// Reads reports whether a server of format f reads every entry of type t
// at the version Encode writes now.
func Reads(f Format, t MessageType) bool {
	c, ok := commands[t.Base()]
	return ok && c.formatOf(c.version) <= f
}
