package server

import (
	"context"
	"fmt"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/hashicorp/go-memdb"

	"github.com/nai-project/nai/fsm/state"
)

// A blocking query does not keep the snapshot its request was authorized
// against while it waits: a thousand clients' long-polls would otherwise
// hold as many old versions of the state, with the jobs job GC removed
// (the scale benchmark's leader kept hundreds of MB after job GC).
func TestBlockingQueryReleasesTheRequestSnapshot(t *testing.T) {
	s, c := testServer(t, t.TempDir())
	if err := c.RegisterNode(context.Background(), testNode("n1", 1), ""); err != nil {
		t.Fatal(err)
	}
	snap := s.State().Snapshot()
	idx := snap.Index()
	req := &request{Request: httptest.NewRequest("GET", fmt.Sprintf("/v1/nodes?index=%d&wait=5s", idx), nil), snap: snap}
	held := weak.Make(snap)
	snap = nil

	waiting := make(chan struct{})
	done := make(chan error, 1)
	calls := 0
	go func() {
		_, err := s.blockingQuery(req, func(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
			if calls++; calls == 1 {
				close(waiting)
			}
			if _, err := snap.Nodes(ws); err != nil {
				return 0, err
			}
			return snap.Index(), nil
		})
		// The door keeps the request after the handler (the audit
		// log reads it): so does this test.
		runtime.KeepAlive(req)
		done <- err
	}()
	<-waiting
	deadline := time.Now().Add(5 * time.Second)
	for held.Value() != nil {
		if time.Now().After(deadline) {
			t.Fatal("the request's snapshot is still reachable while the query waits")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	// The query still answers when the state moves on.
	if err := c.RegisterNode(context.Background(), testNode("n2", 1), ""); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the blocking query did not answer the change")
	}
}
