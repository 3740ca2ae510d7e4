package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// benchPending5000 measures, on one server agent and one client agent (two
// processes, as slurmctld and slurmd are):
//   - the memory of both, idle, against slurmctld's and slurmd's;
//   - 5000 individual pending jobs: the server's memory, listing them
//     (nai queue, nai queue -json against squeue, squeue --json), and
//     cancelling them all with one command (scancel -u root).
func benchPending5000(t *testing.T, b *bench) {
	const n = 5000
	srv := startClusterAgent(t, "s1", t.TempDir(), "-server", "-bootstrap-expect", "1")
	// The client agent runs from a copy of the binaries, as in a cluster
	// each agent runs on a host of its own: two agents of one file on one
	// machine share its page cache, and each then counts in its RSS the
	// code pages the other keeps in (19.2 and 18.1 MiB idle so on
	// 2026-12-05, against 11-12 MiB each alone: BENCH.md, the sixteenth
	// pass).
	clBin := filepath.Join(t.TempDir(), "nai")
	for _, name := range []string{"nai", "nai-agent", "nai-executor"} {
		copyFile(t, filepath.Join(filepath.Dir(naiBin), name), filepath.Join(filepath.Dir(clBin), name))
	}
	cl := startClusterAgentBin(t, clBin, "c1", t.TempDir(), "-client", "-dev-gpus", "8", "-join", srv.serf)
	c := srv.api()
	ctx := context.Background()
	waitFor(t, 60*time.Second, "the client registers", func() bool {
		nodes, err := c.Nodes(ctx)
		return err == nil && len(nodes) == 1 && nodes[0].Status == structs.NodeReady
	})
	load := startLoad()
	// Idle: a Go daemon's memory grows through its first minute as its
	// heap fills to the collector's target (what the agent's trimmer,
	// cmd/nai/memtrim.go, gives back), so one reading a few seconds after
	// the start shows less than an idle agent holds. The figure is the
	// median of 21 readings a second apart, from 10 to 30 s after the
	// client registered.
	// The floor programs (bench/floor) are read at the same moments.
	floorSrv, floorCl := floorAgents(t, 8)
	idle := idleMemory(t, 10*time.Second, 20*time.Second, srv.cmd.Process.Pid, cl.cmd.Process.Pid, floorSrv, floorCl)
	srvIdle, srvAnon, clIdle, clAnon := idle[0].rss, idle[0].anon, idle[1].rss, idle[1].anon
	// What the private memory holds, from the agents' own figures at the
	// end of the readings, and the floor beside it.
	srvRow := benchRow{figure: "server memory (RSS) idle", target: "<= 2x slurmctld",
		nai: memText(srvIdle, srvAnon) + "; " + goMemText(t, srv.addr) +
			"; floor, a Go server of raft, raft-boltdb, serf, go-memdb, HCL and net/http alone: " + memText(idle[2].rss, idle[2].anon),
		load: load.String()}
	clRow := benchRow{figure: "client agent memory (RSS) idle", target: "<= 3x slurmd",
		nai: memText(clIdle, clAnon) + "; " + goMemText(t, cl.addr) +
			"; floor, a Go client of serf, net/http, containerd/cgroups and go-nvml (8 mock GPUs) alone: " + memText(idle[3].rss, idle[3].anon),
		load: load.String()}
	if b.slurm != nil {
		srvRow.slurm, srvRow.ratio = memText(b.slurmIdleCtld, b.slurmIdleCtldAnon), memRatio(b.slurmIdleCtld, b.slurmIdleCtldAnon, srvIdle, srvAnon)
		srvRow.met = yesNo(srvIdle <= 2*b.slurmIdleCtld)
		clRow.slurm, clRow.ratio = memText(b.slurmIdleSlurm, b.slurmIdleSlurmAnon), memRatio(b.slurmIdleSlurm, b.slurmIdleSlurmAnon, clIdle, clAnon)
		clRow.met = yesNo(clIdle <= 3*b.slurmIdleSlurm)
	}
	b.rep.add(srvRow)
	b.rep.add(clRow)

	// 5000 pending jobs, each a job of its own (not a sweep): nai in
	// requests of 1000 jobs, Slurm by 8 sbatch at a time.
	load = startLoad()
	begin := time.Now().Add(time.Hour)
	for i := 0; i < n; i += 1000 {
		jobs := make([]*structs.Job, 1000)
		for k := range jobs {
			jobs[k] = &structs.Job{Name: fmt.Sprintf("pending-%d", i+k), BeginTime: begin,
				Resources: structs.Resources{CPU: 1, MemoryBytes: 64 << 20, GPU: structs.GPURequest{Count: 1}},
				Task:      structs.Task{Command: "/bin/true"}}
		}
		if _, err := c.Register(ctx, jobs...); err != nil {
			t.Fatal(err)
		}
	}
	if b.slurm != nil {
		callRate(t, n, 8, func() *exec.Cmd {
			return b.slurm.command("sbatch", append([]string{"-Q", "--parsable"}, slurmPending...)...)
		})
		if got := b.slurm.queued(); got != n {
			t.Fatalf("Slurm holds %d jobs, want %d", got, n)
		}
	}
	time.Sleep(2 * time.Second)
	srvPending, srvPendingAnon := rssOf(t, srv.cmd.Process.Pid), anonOf(t, srv.cmd.Process.Pid)
	row := benchRow{figure: "server memory (RSS) with 5000 pending jobs", target: "<= 2x slurmctld",
		nai: memText(srvPending, srvPendingAnon), load: load.String()}
	if b.slurm != nil {
		ctld, ctldAnon := rssOf(t, b.slurm.pid("slurmctld")), anonOf(t, b.slurm.pid("slurmctld"))
		row.slurm, row.ratio = memText(ctld, ctldAnon), memRatio(ctld, ctldAnon, srvPending, srvPendingAnon)
		row.met = yesNo(srvPending <= 2*ctld)
	}
	b.rep.add(row)

	// Listing: ten of each, alternating.
	load = startLoad()
	var naiT, naiJSON, sq, sqJSON []time.Duration
	for range 10 {
		if b.slurm != nil {
			wall, _, out, err := timedRun(ctx, b.slurm.command("squeue"))
			if err != nil {
				t.Fatal(err)
			}
			if lines := strings.Count(string(out), "\n"); lines != n+1 {
				t.Fatalf("squeue printed %d lines, want %d", lines, n+1)
			}
			sq = append(sq, wall)
			wall, _, _, err = timedRun(ctx, b.slurm.command("squeue", "--json"))
			if err != nil {
				t.Fatal(err)
			}
			sqJSON = append(sqJSON, wall)
		}
		wall, _, out, err := timedRun(ctx, naiCmd(srv.addr, "queue"))
		if err != nil {
			t.Fatal(err)
		}
		if lines := strings.Count(string(out), "\n"); lines != n+1 {
			t.Fatalf("nai queue printed %d lines, want %d", lines, n+1)
		}
		naiT = append(naiT, wall)
		wall, _, out, err = timedRun(ctx, naiCmd(srv.addr, "queue", "-json"))
		if err != nil {
			t.Fatal(err)
		}
		if c := strings.Count(string(out), `"begin_time"`); c != n {
			t.Fatalf("nai queue -json listed %d jobs, want %d", c, n)
		}
		naiJSON = append(naiJSON, wall)
	}
	listRow := func(what string, nai, slurm []time.Duration, slurmWhat string) {
		m := medianDur(nai)
		row := benchRow{figure: "listing 5000 pending: " + what + " (median of 10)", target: "<= 0.5x squeue",
			nai: fmt.Sprintf("%.1f ms", ms(m)), load: load.String()}
		if b.slurm != nil {
			sm := medianDur(slurm)
			row.slurm = fmt.Sprintf("%.1f ms (%s)", ms(sm), slurmWhat)
			row.ratio = ratioText(float64(sm) / float64(m))
			// Against plain squeue in both cases: the stricter reading.
			row.met = yesNo(float64(m) <= 0.5*float64(medianDur(sq)))
		}
		b.rep.add(row)
	}
	listRow("nai queue", naiT, sq, "squeue")
	listRow("nai queue -json", naiJSON, sqJSON, "squeue --json")

	// Cancel them all with one command each, until the queue is empty.
	load = startLoad()
	var slurmCancel time.Duration
	if b.slurm != nil {
		t0 := time.Now()
		b.slurm.cancelAll()
		slurmCancel = time.Since(t0)
	}
	t0 := time.Now()
	if _, _, _, err := timedRun(ctx, naiCmd(srv.addr, "job", "cancel", "-yes", "-state", "pending")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Minute, "every job is cancelled", func() bool {
		jobs, err := c.Jobs(ctx, false)
		return err == nil && len(jobs) == 0
	})
	naiCancel := time.Since(t0)
	row = benchRow{figure: "cancel 5000 pending jobs (job cancel -state pending / scancel -u)", target: "-",
		nai: fmt.Sprintf("%.2f s", naiCancel.Seconds()), load: load.String()}
	if b.slurm != nil {
		row.slurm = fmt.Sprintf("%.2f s", slurmCancel.Seconds())
		row.ratio = ratioText(slurmCancel.Seconds() / naiCancel.Seconds())
	}
	b.rep.add(row)
}

// memReading is a process's RSS and private memory.
type memReading struct{ rss, anon int64 }

// idleMemory waits `after`, then reads the memory of each pid once a
// second for `span`, and returns each one's median RSS and median private
// memory.
func idleMemory(t *testing.T, after, span time.Duration, pids ...int) []memReading {
	t.Helper()
	time.Sleep(after)
	rss := make([][]int64, len(pids))
	anon := make([][]int64, len(pids))
	for i := 0; ; i++ {
		for k, pid := range pids {
			rss[k] = append(rss[k], rssOf(t, pid))
			anon[k] = append(anon[k], anonOf(t, pid))
		}
		if time.Duration(i)*time.Second >= span {
			break
		}
		time.Sleep(time.Second)
	}
	out := make([]memReading, len(pids))
	for k := range pids {
		out[k] = memReading{rss: medianInt64(rss[k]), anon: medianInt64(anon[k])}
	}
	return out
}

func medianInt64(xs []int64) int64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// goMemText is where an agent's Go heap stands (its /v1/metrics): live
// objects, the spans that hold them (partly filled spans of each size
// class: the difference is fragmentation, which no collection returns),
// and the goroutines' stacks.
func goMemText(t *testing.T, addr string) string {
	t.Helper()
	fams := scrape(t, addr, "")
	val := func(name string) float64 {
		f := fams[name]
		if f == nil || len(f.GetMetric()) == 0 {
			t.Fatalf("%s has no %s", addr, name)
		}
		m := f.GetMetric()[0]
		if g := m.GetGauge(); g != nil {
			return g.GetValue()
		}
		return m.GetUntyped().GetValue()
	}
	return fmt.Sprintf("Go heap: %s of objects in %s of spans, stacks %s for %.0f goroutines",
		mib(int64(val("go_memstats_heap_alloc_bytes"))), mib(int64(val("go_memstats_heap_inuse_bytes"))),
		mib(int64(val("go_memstats_stack_inuse_bytes"))), val("go_goroutines"))
}
