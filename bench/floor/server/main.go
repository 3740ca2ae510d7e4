// Command server is the least a raft-replicated Go server can be on this
// machine: hashicorp/raft with raft-boltdb for its log, hashicorp/serf for
// membership, and net/http for one route that commits its request body to
// the log. `make bench` starts it beside `nai agent -server` and reads its
// idle memory the same way, so that the idle-memory row shows its floor
// from the same run. It holds no state of its own and is not part of nai.
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

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/hashicorp/serf/serf"
)

// fsm counts the entries it applies: a state machine with no state.
type fsm struct{ n uint64 }

func (f *fsm) Apply(*raft.Log) any                 { f.n++; return f.n }
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
	r, err := raft.NewRaft(conf, &fsm{}, store, store, snaps, trans)
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
		fmt.Fprintf(w, "{\"ids\":[\"%d\"]}\n", f.Response().(uint64))
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

// trim gives free memory back every 10 s, as nai's agents do when idle
// (cmd/nai/memtrim.go), so the two are read alike.
func trim() {
	for range time.Tick(10 * time.Second) {
		debug.FreeOSMemory()
	}
}
