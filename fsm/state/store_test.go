package state

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/scheduler"
	"github.com/nai-project/nai/structs"
)

var _ scheduler.State = (*SchedulerView)(nil)

func TestBlockingQueryWakesOnChange(t *testing.T) {
	f := newFixture(t)
	id := f.register(newJob("a").Build())[0]
	start := f.s.LatestIndex()

	type answer struct {
		status structs.JobStatus
		index  uint64
		err    error
	}
	done := make(chan answer, 1)
	runs := make(chan struct{}, 10)
	go func() {
		var got answer
		got.err = f.s.BlockingQuery(context.Background(), start, func(ws memdb.WatchSet, snap *Snapshot) (uint64, error) {
			runs <- struct{}{}
			j, err := snap.JobByID(ws, id)
			if err != nil {
				return 0, err
			}
			got.status, got.index = j.Status, snap.TableIndex(TableJobs)
			return got.index, nil
		})
		done <- got
	}()
	<-runs // the first run has set its watches
	select {
	case <-done:
		t.Fatal("query answered before anything changed")
	default:
	}
	if err := f.s.CancelJobs(f.next(), &structs.JobCancelRequest{JobIDs: []string{id}, Now: t0}); err != nil {
		t.Fatal(err)
	}
	got := <-done
	if got.err != nil || got.status != structs.JobCancelled || got.index != f.index {
		t.Errorf("answer %+v, want cancelled at %d", got, f.index)
	}
}

func TestBlockingQueryTimesOut(t *testing.T) {
	f := newFixture(t)
	id := f.register(newJob("a").Build())[0]
	f.register(newJob("other").Build()) // a change the query does not watch
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	runs := 0
	err := f.s.BlockingQuery(ctx, f.s.LatestIndex(), func(ws memdb.WatchSet, snap *Snapshot) (uint64, error) {
		runs++
		_, err := snap.JobByID(ws, id)
		return snap.Index(), err
	})
	if !errors.Is(err, context.DeadlineExceeded) || runs != 1 {
		t.Errorf("err %v after %d runs, want the deadline after 1 run", err, runs)
	}
}

func TestBlockingQueryZeroIndexDoesNotBlock(t *testing.T) {
	f := newFixture(t)
	runs := 0
	err := f.s.BlockingQuery(context.Background(), 0, func(ws memdb.WatchSet, snap *Snapshot) (uint64, error) {
		runs++
		return snap.Index(), nil
	})
	if err != nil || runs != 1 {
		t.Errorf("err %v runs %d", err, runs)
	}
}

func TestBlockingQueryError(t *testing.T) {
	f := newFixture(t)
	boom := errors.New("boom")
	err := f.s.BlockingQuery(context.Background(), 5, func(memdb.WatchSet, *Snapshot) (uint64, error) { return 0, boom })
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want boom", err)
	}
}

// populated builds a store with every kind of record.
func populated(t *testing.T) *fixture {
	f := newFixture(t)
	f.node(testNode("n1", 4))
	f.node(testNode("n2", 2))
	f.start(newJob("running").GPUs(2).Build(), "n1", 0, 1)
	_, done := f.start(newJob("done").GPUs(1).Build(), "n2", 0)
	if err := f.report(done, structs.ClientStatusFields{Status: structs.AllocComplete, ExitCode: exit(0), Metrics: map[string]float64{"loss": 0.25}}); err != nil {
		t.Fatal(err)
	}
	f.register(newJob("s").Sweep("lr", "1").Build(), newJob("s").Sweep("lr", "2").Build())
	return f
}

// dump reads every table of a store.
// dump reads every row of every table (walking tableDefs, as snapshots
// do), so a comparison of two dumps covers the whole state.
func dump(t *testing.T, s *Store) map[string]any {
	t.Helper()
	sn := s.Snapshot()
	out := map[string]any{}
	for _, d := range tableDefs() {
		it, err := sn.txn.Get(d.schema.Name, "id")
		if err != nil {
			t.Fatal(err)
		}
		var rows []any
		for raw := it.Next(); raw != nil; raw = it.Next() {
			rows = append(rows, raw)
		}
		out[d.schema.Name] = rows
	}
	return out
}

// TestTableDefsCoverSchema: every table has a row type, and rows of that
// type are what the table holds (a persisted row restores as the same
// type).
func TestTableDefsCoverSchema(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range tableDefs() {
		if seen[d.schema.Name] {
			t.Errorf("table %s declared twice", d.schema.Name)
		}
		seen[d.schema.Name] = true
		if d.newRow == nil || d.newRow() == nil {
			t.Errorf("table %s has no row type", d.schema.Name)
		}
		if _, ok := d.schema.Indexes["id"]; !ok {
			t.Errorf("table %s has no id index: snapshots walk tables by it", d.schema.Name)
		}
	}
	if err := schema().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestPersistRestoreRoundTrip(t *testing.T) {
	f := populated(t)
	var buf bytes.Buffer
	if err := f.s.Persist(&buf); err != nil {
		t.Fatal(err)
	}
	restored, err := Restore(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(dump(t, f.s), dump(t, restored), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("restored state differs (-orig +restored):\n%s", diff)
	}
	// The job counter came along: both stores hand out the same next id.
	a, _ := f.s.RegisterJobs(100, &structs.JobRegisterRequest{Jobs: []*structs.Job{newJob("n").Build()}, Now: t0})
	b, _ := restored.RegisterJobs(100, &structs.JobRegisterRequest{Jobs: []*structs.Job{newJob("n").Build()}, Now: t0})
	if a.JobIDs[0] != b.JobIDs[0] {
		t.Errorf("next id %s after restore, want %s", b.JobIDs[0], a.JobIDs[0])
	}
}

func TestRestoreRefusesBadStreams(t *testing.T) {
	var good bytes.Buffer
	if err := populated(t).s.Persist(&good); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(good.String(), "\n")
	tests := []struct {
		name, stream, want string
	}{
		{name: "truncated", stream: strings.Join(lines[:len(lines)-3], ""), want: "without its end record"},
		{name: "empty", stream: "", want: "read header: EOF"},
		{name: "no header", stream: strings.Join(lines[1:], ""), want: "expected a \"header\" record first"},
		{name: "future version", stream: `{"type":"header","version":9}` + "\n", want: "version 9 is not supported"},
		{name: "unknown record", stream: lines[0] + `{"type":"dataset"}` + "\n", want: `unknown type "dataset"`},
		{name: "unknown table", stream: lines[0] + `{"type":"row","table":"spaceships","row":{}}` + "\n", want: `table "spaceships"`},
		{name: "row of the wrong shape", stream: lines[0] + `{"type":"row","table":"jobs","row":{"id":12}}` + "\n", want: "record 1 (jobs)"},
		{name: "end miscounts", stream: lines[0] + lines[1] + `{"type":"end","rows":5}` + "\n", want: "counts 5 rows"},
		{name: "v1 truncated", stream: `{"type":"header","version":1}` + "\n" + `{"type":"counter","counter":{"name":"job_id","value":3}}` + "\n", want: "without its end record"},
		{name: "not json", stream: lines[0] + "garbage\n", want: "record 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.register(newJob("keep").Build())
			before := dump(t, f.s)
			err := f.s.Restore(strings.NewReader(tt.stream))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
			if diff := cmp.Diff(before, dump(t, f.s)); diff != "" {
				t.Errorf("failed restore changed the store:\n%s", diff)
			}
		})
	}
}

func TestRestoreSwapsAndWakesQueries(t *testing.T) {
	src := populated(t)
	var buf bytes.Buffer
	if err := src.s.Persist(&buf); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	f.register(newJob("old").Build())
	min := f.s.LatestIndex()
	done := make(chan uint64, 1)
	go func() {
		var idx uint64
		_ = f.s.BlockingQuery(context.Background(), min, func(ws memdb.WatchSet, snap *Snapshot) (uint64, error) {
			_, err := snap.JobByID(ws, "999") // watches nothing that will change
			idx = snap.Index()
			return idx, err
		})
		done <- idx
	}()
	if err := f.s.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	if got := <-done; got != src.s.LatestIndex() {
		t.Errorf("query answered at %d, want the restored index %d", got, src.s.LatestIndex())
	}
	if diff := cmp.Diff(dump(t, src.s), dump(t, f.s), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("store after restore (-src +got):\n%s", diff)
	}
}

func TestSchedulerView(t *testing.T) {
	f := populated(t)
	for range 10 {
		f.register(newJob("p").Build())
	}
	v := f.s.Snapshot().SchedulerState()
	var pending []string
	for _, j := range v.PendingJobs() {
		pending = append(pending, j.ID)
	}
	want := []string{"3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14"}
	if diff := cmp.Diff(want, pending); diff != "" {
		t.Errorf("pending order (-want +got):\n%s", diff)
	}
	live := v.LiveAllocs()
	if len(live) != 1 || live[0].ID != "1.1" {
		t.Errorf("live allocs %v, want only 1.1", live)
	}
	if nodes := v.Nodes(); len(nodes) != 2 || nodes[0].ID != "n1" || nodes[1].ID != "n2" {
		t.Errorf("nodes %v", nodes)
	}
	if j := v.Job("2"); j == nil || j.Status != structs.JobComplete {
		t.Errorf("job 2: %+v", j)
	}
	if v.Job("nope") != nil {
		t.Error("unknown job found")
	}
}

// BenchmarkRegisterJobs measures one single-job submission per write
// transaction, the FSM's share of `nai job run`.
// AMD EPYC, 2 shared cores, go1.26.8, -benchtime 20000x: 40261 ns/op,
// 25665 B/op, 203 allocs/op (about 25,000 submissions/s).
func BenchmarkRegisterJobs(b *testing.B) {
	s, err := NewStore()
	if err != nil {
		b.Fatal(err)
	}
	j := newJob("bench").GPUs(1).Build()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := s.RegisterJobs(uint64(i+1), &structs.JobRegisterRequest{Jobs: []*structs.Job{j}, Now: t0}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestReplicasConverge applies the same writes to two stores, as two raft
// servers would, and expects byte-identical snapshots.
func TestReplicasConverge(t *testing.T) {
	var a, b bytes.Buffer
	if err := populated(t).s.Persist(&a); err != nil {
		t.Fatal(err)
	}
	if err := populated(t).s.Persist(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("snapshots of the same log differ:\n%s\n---\n%s", a.String(), b.String())
	}
}
