package scheduler

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

// randomState is a cluster in some random, busy moment: nodes of 4 or 8
// GPUs (a few down, draining or with a broken GPU), running jobs with
// time limits (some exclusive, some gangs, some being stopped, some
// preemptible, some over their limit), and pending jobs of every shape,
// some that can never fit, some held by a begin time or a dependency.
func randomState(seed uint64) *harness {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	h := &harness{t: nil, st: &memState{jobs: map[string]*structs.Job{}}, now: t0}
	nn := 1 + r.IntN(12)
	for i := 0; i < nn; i++ {
		g := []int{4, 8, 8}[r.IntN(3)]
		n := newNode(fmt.Sprintf("n%03d", i)).GPUs(g).NVLinkPairs().CPU(float64(16 + r.IntN(48))).Memory(int64(64+r.IntN(448)) << 30).
			Build()
		switch r.IntN(12) {
		case 0:
			n.Status = structs.NodeDown
		case 1:
			n.Drain = true
		case 2:
			n.GPUs[r.IntN(g)].Healthy = false
		}
		h.st.nodes = append(h.st.nodes, n)
	}
	users := []string{"alice", "bob", "carol"}
	// running jobs: fill nodes with random free GPUs
	for k := 0; k < nn*3; k++ {
		n := h.st.nodes[r.IntN(nn)]
		var free []int
		used := map[int]bool{}
		excl := false
		for _, a := range h.st.allocs {
			if a.NodeID == n.ID {
				for _, g := range a.GPUs {
					used[g] = true
				}
				excl = excl || a.Resources.Exclusive
			}
		}
		if excl {
			continue
		}
		for _, g := range n.GPUs {
			if !used[g.Index] {
				free = append(free, g.Index)
			}
		}
		if len(free) == 0 {
			continue
		}
		take := free[:1+r.IntN(len(free))]
		b := newJob().GPUs(len(take)).User(users[r.IntN(3)]).CPU(float64(r.IntN(4))).Memory(int64(r.IntN(32)) << 30)
		if r.IntN(3) > 0 {
			b.TimeLimit(time.Duration(1+r.IntN(20)) * 30 * time.Minute)
		}
		if r.IntN(10) == 0 && len(used) == 0 {
			b.Exclusive()
		}
		if r.IntN(4) == 0 {
			b.Preemptible()
		}
		j := h.running(b, n.ID, slices.Clone(take), t0.Add(-time.Duration(r.IntN(600))*time.Minute))
		if r.IntN(15) == 0 {
			h.st.allocs[len(h.st.allocs)-1].DesiredStatus = structs.DesiredStop
		}
		_ = j
	}
	// pending jobs
	np := r.IntN(40)
	for k := 0; k < np; k++ {
		b := newJob().GPUs([]int{0, 1, 1, 1, 2, 2, 4, 8, 9}[r.IntN(9)]).User(users[r.IntN(3)]).
			Priority(40 + r.IntN(30)).CPU(float64(r.IntN(8))).Memory(int64(r.IntN(64)) << 30).
			TimeLimit(time.Duration(1+r.IntN(20)) * 20 * time.Minute)
		switch r.IntN(14) {
		case 0:
			b.Nodes(2 + r.IntN(3))
		case 1:
			b.Exclusive()
		case 2:
			b.BeginAt(t0.Add(time.Hour))
		case 3:
			b.After(structs.AfterOK, "1")
		case 4:
			b.Nodes(20) // never fits
		}
		if r.IntN(3) == 0 {
			b.Submitted(t0.Add(-time.Duration(r.IntN(5)) * time.Minute)) // ties in submit time
		}
		h.submit(b)
	}
	slices.SortFunc(h.st.nodes, func(a, b *structs.Node) int { return cmp.Compare(a.ID, b.ID) })
	return h
}

// replayConfigs are the policies a replay's pass must agree on.
func replayConfigs() map[string]Config {
	fifo := Config{Weights: structs.PriorityWeights{Age: 1}}
	easy := Config{Weights: structs.PriorityWeights{Age: 1}, Backfill: true}
	def := DefaultConfig()
	noPre := DefaultConfig()
	noPre.Preemption = false
	strictNoPre := strict()
	return map[string]Config{"fifo": fifo, "easy": easy, "default": def, "default-no-preemption": noPre, "strict": strictNoPre}
}

// A PlacementsOnly pass places exactly what a full pass places, in the
// same order; with preemption on it is a full pass. The jobs it looked
// at wait or are cancelled as in the full pass.
func TestPlacementsOnlyPlacesTheSame(t *testing.T) {
	stopped := 0
	for seed := uint64(1); seed <= 300; seed++ {
		h := randomState(seed)
		usage := NewUsage(7*24*time.Hour, t0)
		usage.Users = map[string]float64{"alice": 10, "bob": float64(seed % 7)}
		for name, cfg := range replayConfigs() {
			cfg.Usage = usage
			cfg.firstEstimates = true // a PlacementsOnly pass gives first estimates only
			full := New(cfg).Plan(h.st, h.now)
			cfg.PlacementsOnly = true
			lazy := New(cfg).Plan(h.st, h.now)
			if diff := gocmp.Diff(full.Placements, lazy.Placements); diff != "" {
				t.Fatalf("seed %d %s: placements differ (-full +lazy):\n%s", seed, name, diff)
			}
			if diff := gocmp.Diff(full.Preempt, lazy.Preempt); diff != "" {
				t.Fatalf("seed %d %s: preemptions differ (-full +lazy):\n%s", seed, name, diff)
			}
			fullWait := map[string]structs.WaitStatus{}
			for _, w := range full.Waiting {
				fullWait[w.JobID] = w
			}
			for _, w := range lazy.Waiting {
				if diff := gocmp.Diff(fullWait[w.JobID], w); diff != "" {
					t.Fatalf("seed %d %s: wait of %s differs (-full +lazy):\n%s", seed, name, w.JobID, diff)
				}
			}
			fullCancel := map[string]bool{}
			for _, w := range full.Cancel {
				fullCancel[w.JobID] = true
			}
			for _, w := range lazy.Cancel {
				if !fullCancel[w.JobID] {
					t.Fatalf("seed %d %s: lazy pass cancels %s, the full one does not", seed, name, w.JobID)
				}
			}
			if cfg.Preemption && len(lazy.Waiting) != len(full.Waiting) {
				t.Fatalf("seed %d %s: with preemption the pass must not stop early: %d waits, full %d",
					seed, name, len(lazy.Waiting), len(full.Waiting))
			}
			if len(lazy.Waiting)+len(lazy.Cancel) < len(full.Waiting)+len(full.Cancel) {
				stopped++
			}
		}
	}
	if stopped == 0 {
		t.Error("no pass stopped early: the test does not exercise the stop")
	}
	t.Logf("%d passes stopped early", stopped)
}

// earliest, which replays each node's holders on their own, finds the
// same time, nodes and spares as a replay of every holder in end order
// across the cluster (the former implementation, kept below), before and
// after a pass's placements.
func TestEarliestMatchesClusterReplay(t *testing.T) {
	shapes := []structs.Resources{
		{Nodes: 1, GPU: structs.GPURequest{Count: 1}},
		{Nodes: 1, GPU: structs.GPURequest{Count: 4}, CPU: 8, MemoryBytes: 64 << 30},
		{Nodes: 1, GPU: structs.GPURequest{Count: 8}},
		{Nodes: 2, GPU: structs.GPURequest{Count: 4}},
		{Nodes: 3, GPU: structs.GPURequest{Count: 2}, CPU: 2},
		{Nodes: 1, GPU: structs.GPURequest{Count: 2}, Exclusive: true},
		{Nodes: 1, CPU: 30},
	}
	var later, never, now int // what the cases cover
	for seed := uint64(1); seed <= 300; seed++ {
		h := randomState(seed)
		for _, cfg := range []Config{strict(), DefaultConfig()} {
			p := New(cfg).newPass(h.st, h.now, nil)
			check := func(when string) {
				for _, res := range shapes {
					j := &structs.Job{Resources: res}
					sh := p.shapeOf(j, defaultQueueInfo)
					if sh.eligCount < res.Nodes {
						continue
					}
					for _, pick := range []bool{false, true} {
						at, r := p.earliest(sh, pick)
						wantAt, wantR := p.earliestByReplay(sh, pick)
						switch {
						case at == forever:
							never++
						case at == p.nowNs:
							now++
						default:
							later++
						}
						if at != wantAt {
							t.Fatalf("seed %d %s %+v pick %v: at %d, replay says %d", seed, when, res, pick, at, wantAt)
						}
						if diff := gocmp.Diff(wantR, r, gocmp.AllowUnexported(reservation{})); diff != "" {
							t.Fatalf("seed %d %s %+v: reservation (-replay +new):\n%s", seed, when, res, diff)
						}
					}
				}
			}
			check("before")
			p.schedule(&structs.Plan{}, newItemQueue(p.items, false, p.c.maxGPUs))
			check("after placements")
		}
	}
	if later == 0 || never == 0 || now == 0 {
		t.Errorf("cases cover later %d, never %d, now %d: want some of each", later, never, now)
	}
	t.Logf("fits later %d, never %d, now %d", later, never, now)
}

// The lazy queue hands items out in exactly sortItems' order, and knows
// the smallest GPU request left.
func TestItemQueueOrder(t *testing.T) {
	for seed := uint64(1); seed <= 50; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		var items []item
		for k := 0; k < r.IntN(60); k++ {
			j := &structs.Job{ID: fmt.Sprint(r.IntN(1000)*1000 + k), SubmitTime: t0.Add(time.Duration(r.IntN(5)) * time.Second)}
			j.Resources.GPU.Count = []int{-1, 0, 1, 2, 8, 9, 2000}[r.IntN(7)]
			items = append(items, item{job: j, tier: r.IntN(2), prio: float64(r.IntN(4))})
		}
		want := slices.Clone(items)
		sortItems(want)
		in := items
		if seed%2 == 0 {
			in = want // already in order: walked, not heaped
		}
		q := newItemQueue(slices.Clone(in), true, 8)
		if q.walk != (seed%2 == 0 || len(items) < 2) && !slices.IsSortedFunc(items, func(a, b item) int { return compareItems(&a, &b) }) {
			t.Fatalf("seed %d: walk is %v", seed, q.walk)
		}
		for k := range want {
			left := math.MaxInt
			for _, w := range want[k:] {
				left = min(left, min(max(w.job.Resources.GPU.Count, 0), 9))
			}
			if got := q.minLeft(); got != left {
				t.Fatalf("seed %d item %d: minLeft %d, want %d", seed, k, got, left)
			}
			it := q.next()
			if it == nil || it.job != want[k].job {
				t.Fatalf("seed %d: item %d is %v, want job %s", seed, k, it, want[k].job.ID)
			}
		}
		if it := q.next(); it != nil {
			t.Fatalf("seed %d: an item after the last: %v", seed, it.job.ID)
		}
		if q.minLeft() != 9 {
			t.Fatalf("seed %d: minLeft of an empty queue %d, want 9", seed, q.minLeft())
		}
	}
}

func TestNodeIDIndex(t *testing.T) {
	cases := []struct {
		name string
		ids  []string
		miss []string
	}{
		{"host names", []string{"gpu-001", "gpu-002", "gpu-010", "gpu-100"}, []string{"gpu-003", "gpu-00", "gpu-0010", "cpu-001", ""}},
		{"uuids", []string{"0b5e7c1a-1111-4e0e-8c1d-3d4e5f6a7b8c", "6f1d2c3b-2222-4e0e-8c1d-3d4e5f6a7b8c", "f00dbabe-3333-4e0e-8c1d-3d4e5f6a7b8c"},
			[]string{"6f1d2c3b-2222-4e0e-8c1d-3d4e5f6a7b8d", "6f1d2c3b"}},
		{"long common prefix, differing after 8 bytes", []string{"rack1-node-aaaaaaaa-1", "rack1-node-aaaaaaaa-2", "rack1-node-aaaaaaaa-3"},
			[]string{"rack1-node-aaaaaaaa-4", "rack1-node-aaaaaaaa"}},
		{"prefixes of each other", []string{"a", "ab", "abc", "abd", "b"}, []string{"", "aa", "abcd", "c"}},
		{"one node", []string{"only"}, []string{"onl", "only2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !slices.IsSorted(tc.ids) {
				t.Fatalf("test IDs must be sorted: %v", tc.ids)
			}
			var nodes []*structs.Node
			for _, id := range tc.ids {
				nodes = append(nodes, &structs.Node{ID: id})
			}
			c := newCluster(nodes, nil)
			for want, id := range tc.ids {
				if got, ok := c.index(string([]byte(id))); !ok || got != want {
					t.Errorf("index(%q) = %d, %v; want %d", id, got, ok, want)
				}
			}
			for _, id := range tc.miss {
				if got, ok := c.index(id); ok {
					t.Errorf("index(%q) = %d, want not found", id, got)
				}
			}
		})
	}
}

// AdvanceHeld adds what Advance adds for the same GPUs, to the last bits
// when each account holds one record, and within rounding otherwise.
func TestAdvanceHeldMatchesAdvance(t *testing.T) {
	start := t0.Add(-3 * time.Hour)
	for _, halfLife := range []time.Duration{0, 7 * 24 * time.Hour, time.Hour} {
		recs := []UsageRecord{
			{User: "alice", Group: "ml", GPUs: 4, Start: start},
			{User: "bob", GPUs: 1, Start: start},
			{User: "alice", Group: "ml", GPUs: 2, Start: start},
			{User: "carol", Group: "cv", GPUs: 3, Start: start},
		}
		a := NewUsage(halfLife, start)
		a.Users["dave"] = 5
		b := a.Clone()
		held := map[string]int{"alice": 6, "bob": 1, "carol": 3}
		groups := map[string]int{"ml": 6, "cv": 3}
		for _, at := range []time.Duration{time.Minute, 90 * time.Minute, 3 * time.Hour} {
			a.Advance(start.Add(at), recs)
			b.AdvanceHeld(start.Add(at), held, groups)
		}
		for _, m := range []struct{ a, b map[string]float64 }{{a.Users, b.Users}, {a.Groups, b.Groups}} {
			if len(m.a) != len(m.b) {
				t.Fatalf("half-life %v: accounts %v, want %v", halfLife, m.b, m.a)
			}
			for k, v := range m.a {
				if math.Abs(m.b[k]-v) > 1e-12*math.Abs(v) {
					t.Errorf("half-life %v: %s has %v, Advance gives %v", halfLife, k, m.b[k], v)
				}
			}
		}
		for _, k := range []string{"bob", "carol", "dave"} {
			if a.Users[k] != b.Users[k] {
				t.Errorf("half-life %v: %s (one record) %v, Advance gives %v", halfLife, k, b.Users[k], a.Users[k])
			}
		}
		// Nothing moves backwards or stands still.
		c := b.Clone()
		b.AdvanceHeld(b.At, held, groups)
		b.AdvanceHeld(b.At.Add(-time.Hour), held, groups)
		if diff := gocmp.Diff(c, b); diff != "" {
			t.Errorf("AdvanceHeld to a time not after At changed usage:\n%s", diff)
		}
	}
}

// earliestByReplay is the former earliest, kept to check the new one: it replays the running jobs' ends in time order on the nodes the
// shape may use until enough of them fit it. With pick it also chooses the
// nodes (best fit at that time) and what they keep spare.
//
// When exclusivity matters (the shape is exclusive, or an exclusive job
// holds some node) it also replays who holds each node: an exclusive shape
// fits a node once every holder has ended, any shape once its exclusive
// holders have.
func (p *pass) earliestByReplay(sh *shape, pick bool) (int64, *reservation) {
	c := p.c
	need := sh.key.gpu.Count
	fg := make([]int, len(c.nodes))
	fc := make([]float64, len(c.nodes))
	fm := make([]int64, len(c.nodes))
	excl := sh.key.exclusive || c.anyExcl
	var fh, fx []int32 // holders, exclusive holders
	if excl {
		fh = make([]int32, len(c.nodes))
		fx = make([]int32, len(c.nodes))
	}
	isElig := func(i int) bool { return sh.elig[i/64]&(1<<(uint(i)%64)) != 0 }
	fitsAt := func(i int) bool {
		return fg[i] >= need && fc[i]+cpuEpsilon >= sh.key.cpu && fm[i] >= sh.key.mem &&
			(!excl || fx[i] == 0 && (!sh.key.exclusive || fh[i] == 0))
	}
	fitting := 0
	for i := range c.nodes {
		if !isElig(i) {
			continue
		}
		fg[i], fc[i], fm[i] = c.freeMatching(i, sh), c.ns[i].cpu, c.ns[i].mem
		if excl {
			fh[i], fx[i] = c.ns[i].holders, c.ns[i].excl
		}
		if fitsAt(i) {
			fitting++
		}
	}
	at := int64(forever)
	if fitting >= sh.key.nodes {
		at = p.nowNs
	} else {
		run := p.sortedRunForTest()
		for k, r := range run {
			if r.end == forever {
				break
			}
			if isElig(r.node) {
				before := fitsAt(r.node)
				fg[r.node] += c.matchCount(r.node, r.gpus, sh)
				fc[r.node] += r.cpu
				fm[r.node] += r.mem
				if excl {
					fh[r.node]--
					if r.excl {
						fx[r.node]--
					}
				}
				if !before && fitsAt(r.node) {
					fitting++
				}
			}
			if fitting >= sh.key.nodes && (k+1 == len(run) || run[k+1].end != r.end) {
				at = max(r.end, p.nowNs)
				break
			}
		}
	}
	if at == forever || !pick {
		return at, nil
	}
	var cand []int
	for i := range c.nodes {
		if isElig(i) && fitsAt(i) {
			cand = append(cand, i)
		}
	}
	slices.SortFunc(cand, func(a, b int) int {
		if x := cmp.Compare(fg[a], fg[b]); x != 0 {
			return x
		}
		return cmp.Compare(a, b)
	})
	cand = cand[:sh.key.nodes]
	r := &reservation{nodes: cand, exclusive: sh.key.exclusive}
	for _, i := range cand {
		r.spareGPU = append(r.spareGPU, fg[i]-need)
		r.spareCPU = append(r.spareCPU, fc[i]-sh.key.cpu)
		r.spareMem = append(r.spareMem, fm[i]-sh.key.mem)
	}
	return at, r
}

// sortedRunForTest is the run list sorted by end, then node, as
// earliestByReplay replays it (stable: ties keep run order).
func (p *pass) sortedRunForTest() []runInfo {
	p.ensureRun()
	run := slices.Clone(p.run)
	slices.SortStableFunc(run, func(a, b runInfo) int {
		if a.end != b.end {
			return cmp.Compare(a.end, b.end)
		}
		return a.node - b.node
	})
	return run
}
