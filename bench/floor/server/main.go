// Command server is the least a raft-replicated Go server can be on this
// machine, on the libraries nai's server is built on: hashicorp/raft with
// raft-boltdb for its log, hashicorp/serf for membership, go-memdb for the
// state the log's entries build (one table of the request bodies), the
// HCL job language (one small job file parsed at start), and net/http for
// one route that commits its request body to the log. `make bench` starts
// it beside `nai agent -server` and reads its idle memory the same way, so
// that the idle-memory row shows its floor from the same run. It gives
// memory back as an idle agent does (free heap every 10 s, the binary's
// start-up pages once: internal/exepages). It is not part of nai.
//
// Usage: server DATA_DIR HTTP_ADDR SERF_ADDR RAFT_ADDR
package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/hashicorp/serf/serf"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/nai-project/nai/internal/exepages"
)

// row is one applied entry in the state.
type row struct {
	ID   uint64
	Body []byte
}

var schema = &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
	"jobs": {Name: "jobs", Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.UintFieldIndex{Field: "ID"}},
	}},
}}

// fsm keeps each applied entry as a row of go-memdb; snapshots hold only
// the count (the floor is read idle, not restored).
type fsm struct {
	n  uint64
	db *memdb.MemDB
}

func (f *fsm) Apply(l *raft.Log) any {
	f.n++
	txn := f.db.Txn(true)
	if err := txn.Insert("jobs", &row{ID: f.n, Body: l.Data}); err != nil {
		txn.Abort()
		return err
	}
	txn.Commit()
	return f.n
}
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) { return snap(f.n), nil }
func (f *fsm) Restore(rc io.ReadCloser) error      { return rc.Close() }

type snap uint64

func (s snap) Persist(sink raft.SnapshotSink) error {
	if _, err := fmt.Fprintln(sink, uint64(s)); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}
func (snap) Release() {}

func main() {
	if len(os.Args) != 5 {
		log.Fatal("usage: server DATA_DIR HTTP_ADDR SERF_ADDR RAFT_ADDR")
	}
	dir, httpAddr, serfAddr, raftAddr := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	if err := parseJobFile(); err != nil {
		log.Fatal(err)
	}
	db, err := memdb.NewMemDB(schema)
	if err != nil {
		log.Fatal(err)
	}
	store, err := raftboltdb.NewBoltStore(filepath.Join(dir, "raft.db"))
	if err != nil {
		log.Fatal(err)
	}
	snaps, err := raft.NewFileSnapshotStore(dir, 1, io.Discard)
	if err != nil {
		log.Fatal(err)
	}
	trans, err := raft.NewTCPTransport(raftAddr, nil, 3, 10*time.Second, io.Discard)
	if err != nil {
		log.Fatal(err)
	}
	conf := raft.DefaultConfig()
	conf.LocalID = raft.ServerID("floor")
	conf.LogOutput = io.Discard
	r, err := raft.NewRaft(conf, &fsm{db: db}, store, store, snaps, trans)
	if err != nil {
		log.Fatal(err)
	}
	r.BootstrapCluster(raft.Configuration{Servers: []raft.Server{{ID: conf.LocalID, Address: trans.LocalAddr()}}})

	if _, err := startSerf("floor", serfAddr, ""); err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("POST /v1/jobs", func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f := r.Apply(body, 10*time.Second)
		if err := f.Error(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		id, ok := f.Response().(uint64)
		if !ok {
			http.Error(w, fmt.Sprint(f.Response()), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "{\"ids\":[\"%d\"]}\n", id)
	})
	go trim()
	log.Fatal(http.ListenAndServe(httpAddr, nil))
}

// startSerf starts a serf agent on addr and joins join when it is set.
func startSerf(name, addr, join string) (*serf.Serf, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, err
	}
	conf := serf.DefaultConfig()
	conf.NodeName = name
	conf.LogOutput = io.Discard
	conf.MemberlistConfig.LogOutput = io.Discard
	conf.MemberlistConfig.BindAddr, conf.MemberlistConfig.BindPort = host, p
	conf.MemberlistConfig.AdvertiseAddr, conf.MemberlistConfig.AdvertisePort = host, p
	s, err := serf.Create(conf)
	if err != nil {
		return nil, err
	}
	if join != "" {
		if _, err := s.Join([]string{join}, true); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// trim gives free memory back every 10 s, and at the first of them pages
// out the binary's start-up pages, as nai's agents do when idle
// (cmd/nai/memtrim.go), so the two are read alike.
func trim() {
	released := false
	for range time.Tick(10 * time.Second) {
		debug.FreeOSMemory()
		if !released {
			released = true
			if _, err := exepages.Release(); err != nil {
				log.Print(err)
			}
		}
	}
}

// jobFile is a job in the HCL job language, as a server parses one.
const jobFile = `
job "train" {
  gpus = 1
  time = "1h"
  task {
    command = upper("python3")
    args    = ["train.py", "--lr", "${0.1 * 2}"]
  }
}
`

// parseJobFile parses jobFile and evaluates its expressions, with a
// function of cty's standard library as nai's job language has them, which
// starts the HCL parser and the cty evaluation nai's server uses.
func parseJobFile() error {
	f, diags := hclsyntax.ParseConfig([]byte(jobFile), "train.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		return diags
	}
	content, diags := f.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "job", LabelNames: []string{"name"}}}})
	if diags.HasErrors() {
		return diags
	}
	job, diags := content.Blocks[0].Body.Content(&hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "gpus"}, {Name: "time"}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "task"}},
	})
	if diags.HasErrors() {
		return diags
	}
	task, diags := job.Blocks[0].Body.JustAttributes()
	if diags.HasErrors() {
		return diags
	}
	ctx := &hcl.EvalContext{Functions: map[string]function.Function{"upper": stdlib.UpperFunc}}
	for _, attrs := range []hcl.Attributes{job.Attributes, task} {
		for _, a := range attrs {
			if _, d := a.Expr.Value(ctx); d.HasErrors() {
				return d
			}
		}
	}
	return nil
}
