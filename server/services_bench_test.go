package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/internal/loadgen"
	"github.com/nai-project/nai/structs"
)

// BenchmarkServiceCall is the gateway's cost through a whole server, as a
// user calls a service: the door (credentials, the route table), the
// forwarding check, the replica table and the proxy, against calling the
// replica directly, by 1 and 64 concurrent clients on loopback. Figures:
// BENCH.md, "Service gateway".
//
//	go test -run '^$' -bench ServiceCall -benchtime 20000x ./server/
func BenchmarkServiceCall(b *testing.B) {
	s, err := New(Config{DataDir: b.TempDir(), NodeName: "bench", Bootstrap: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SchedulerInterval: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitForLeader(ctx); err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	s.Routes(mux)
	front := httptest.NewServer(GuardServicePaths(mux))
	defer front.Close()
	replica := httptest.NewServer(http.HandlerFunc(loadgen.Replica))
	defer replica.Close()

	// A service with one healthy replica at the backend, as the leader and
	// the replica's client would have recorded it.
	now := time.Now()
	apply := func(t fsm.MessageType, req any) {
		if _, _, err := s.apply(t, req); err != nil {
			b.Fatal(err)
		}
	}
	apply(fsm.NodeRegister, &structs.NodeRegisterRequest{Node: serviceNode("n1", 1), Now: now})
	apply(fsm.JobRegister, &structs.JobRegisterRequest{Now: now, Jobs: []*structs.Job{{Name: "digits", User: "alice", Type: structs.JobService,
		Resources: structs.Resources{CPU: 1, MemoryBytes: 1 << 30}, Task: structs.Task{Command: "python3"},
		Service: &structs.ServiceSpec{Replicas: 1, Public: true}}}})
	var allocID string
	waitUntilB(b, "the replica placed", func() bool {
		allocs, _ := s.State().Snapshot().AllocsByJob(nil, "1")
		if len(allocs) == 1 {
			allocID = allocs[0].ID
		}
		return allocID != ""
	})
	apply(fsm.AllocUpdate, &structs.AllocUpdateRequest{Now: now, Updates: []*structs.AllocUpdate{{AllocID: allocID, Client: structs.ClientStatusFields{
		Status: structs.AllocRunning, Service: &structs.ReplicaHealth{Address: strings.TrimPrefix(replica.URL, "http://"), Healthy: true}}}}})
	waitUntilB(b, "the gateway sees the replica", func() bool {
		sv := s.gateway.Lookup("digits")
		return sv != nil && len(sv.Replicas) == 1
	})
	for _, clients := range []int{1, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			loadgen.Compare(b, replica.URL+"/predict", front.URL+"/v1/services/digits/predict", clients)
		})
	}
}

func waitUntilB(b *testing.B, what string, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
