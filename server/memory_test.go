package server

import "testing"

// A collection is asked for once GC entries have removed freeMemoryAfter
// jobs since the last one, in one entry or in several small ones.
func TestMemoryReturnerAddsSmallEntries(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []int
		ask     bool
	}{
		{"one large entry", []int{freeMemoryAfter}, true},
		{"one small entry", []int{freeMemoryAfter - 1}, false},
		{"small entries that add up", []int{freeMemoryAfter / 2, freeMemoryAfter / 2}, true},
		{"nothing removed", []int{0, 0}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &memoryReturner{ask: make(chan struct{}, 1)}
			for _, n := range tc.entries {
				m.jobsCollected(n)
			}
			if got := len(m.ask) == 1; got != tc.ask {
				t.Errorf("asked for a collection: %v, want %v", got, tc.ask)
			}
		})
	}
	var none *memoryReturner
	none.jobsCollected(freeMemoryAfter) // a server without one (tests) must not panic
}
