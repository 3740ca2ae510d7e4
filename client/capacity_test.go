package client

import (
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// TestSetCapacityRegistersAgain: a reload that changes the reserved CPU and
// memory re-registers the node with the new totals; the GPUs and the node's
// identity stay as they were.
func TestSetCapacityRegistersAgain(t *testing.T) {
	f := newFakeServers(t)
	c := newTestClient(t, f, t.TempDir(), nil)
	stop := runClient(t, c)
	defer stop()

	registered := func() []*structs.Node {
		f.mu.Lock()
		defer f.mu.Unlock()
		return append([]*structs.Node(nil), f.nodes...)
	}
	waitFor(t, 5*time.Second, "the first registration", func() bool { return len(registered()) == 1 })
	if n := registered()[0]; n.CPU != 2 || n.MemoryBytes != 8<<30 {
		t.Fatalf("first registration offers cpu %v, memory %d; want the fingerprint's 2 and 8GiB", n.CPU, n.MemoryBytes)
	}

	c.SetCapacity(1.5, 6<<30)
	waitFor(t, 5*time.Second, "a registration with the new capacity", func() bool { return len(registered()) >= 2 })
	got := registered()
	last := got[len(got)-1]
	if last.CPU != 1.5 || last.MemoryBytes != 6<<30 {
		t.Errorf("registered again with cpu %v, memory %d; want 1.5 and 6GiB", last.CPU, last.MemoryBytes)
	}
	if last.ID != got[0].ID || last.Name != got[0].Name || len(last.GPUs) != 4 {
		t.Errorf("re-registration changed the node: id %s name %s with %d GPUs, was %s %s with 4", last.ID, last.Name, len(last.GPUs), got[0].ID, got[0].Name)
	}

	// The same capacity again changes nothing; a later change is
	// registered, and no registration in between carried other figures.
	c.SetCapacity(1.5, 6<<30)
	c.SetCapacity(1, 4<<30)
	waitFor(t, 5*time.Second, "a registration with the second capacity", func() bool {
		n := registered()
		return n[len(n)-1].CPU == 1
	})
	for _, n := range registered()[2:] {
		if n.CPU != 1.5 && n.CPU != 1 {
			t.Errorf("a registration offered cpu %v: want only 1.5 or 1", n.CPU)
		}
	}
}
