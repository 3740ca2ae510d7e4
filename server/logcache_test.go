package server

import (
	"bytes"
	"testing"

	"github.com/hashicorp/raft"
)

// countingStore counts the reads that reach the store behind the cache.
type countingStore struct {
	*raft.InmemStore
	reads int
}

func (s *countingStore) GetLog(idx uint64, log *raft.Log) error {
	s.reads++
	return s.InmemStore.GetLog(idx, log)
}

// The cache answers from memory for what it holds and from the store for
// the rest, never holds more than its bytes, skips entries too big for it,
// and forgets all on DeleteRange; every read gives the entry stored.
func TestLogCache(t *testing.T) {
	entry := func(i uint64, size int) *raft.Log {
		return &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: bytes.Repeat([]byte{byte(i)}, size)}
	}
	for _, tc := range []struct {
		name   string
		sizes  []int // entries 1..n, by Data size
		cached []uint64
	}{
		{"small entries: the last 4", []int{10, 10, 10, 10, 10, 10}, []uint64{3, 4, 5, 6}},
		{"bytes bound: the newest that fit", []int{40, 40, 40, 40}, []uint64{3, 4}},
		{"too big for the cache", []int{10, 90, 10}, []uint64{1, 3}},
		{"a big one pushes the old out", []int{30, 30, 30, 60}, []uint64{3, 4}},
		{"empty entries cost nothing", []int{0, 0, 0, 0, 0}, []uint64{2, 3, 4, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &countingStore{InmemStore: raft.NewInmemStore()}
			c, err := newLogCache(store, 4, 100, 80)
			if err != nil {
				t.Fatal(err)
			}
			var logs []*raft.Log
			for i, size := range tc.sizes {
				logs = append(logs, entry(uint64(i+1), size))
			}
			// One at a time and then as one batch: the same result.
			for _, batch := range [][]*raft.Log{logs[:1], logs[1:]} {
				if err := c.StoreLogs(batch); err != nil {
					t.Fatal(err)
				}
			}
			if c.bytes > c.maxBytes {
				t.Errorf("%d bytes cached, more than %d", c.bytes, c.maxBytes)
			}
			for _, l := range logs {
				store.reads = 0
				var got raft.Log
				if err := c.GetLog(l.Index, &got); err != nil {
					t.Fatalf("entry %d: %v", l.Index, err)
				}
				if got.Index != l.Index || !bytes.Equal(got.Data, l.Data) {
					t.Errorf("entry %d: got index %d with %d bytes", l.Index, got.Index, len(got.Data))
				}
				wantCached := false
				for _, i := range tc.cached {
					wantCached = wantCached || i == l.Index
				}
				if hit := store.reads == 0; hit != wantCached {
					t.Errorf("entry %d: from the cache %v, want %v", l.Index, hit, wantCached)
				}
			}
			if err := c.DeleteRange(1, uint64(len(logs))); err != nil {
				t.Fatal(err)
			}
			if c.bytes != 0 || len(c.order) != 0 {
				t.Errorf("after DeleteRange: %d bytes, %d indexes cached", c.bytes, len(c.order))
			}
			if err := c.GetLog(1, &raft.Log{}); err == nil {
				t.Error("entry 1 read after DeleteRange")
			}
		})
	}
}

func TestLogCacheBadSizes(t *testing.T) {
	for _, sz := range [][3]int{{0, 100, 10}, {4, 0, 10}, {4, 100, 0}, {4, 100, 200}} {
		if _, err := newLogCache(raft.NewInmemStore(), sz[0], sz[1], sz[2]); err == nil {
			t.Errorf("newLogCache%v: no error", sz)
		}
	}
}

// A long run of entries keeps the bookkeeping as small as the ring.
func TestLogCacheOrderStaysSmall(t *testing.T) {
	c, err := newLogCache(raft.NewInmemStore(), 8, 1000, 100)
	if err != nil {
		t.Fatal(err)
	}
	for i := uint64(1); i <= 10000; i++ {
		if err := c.StoreLog(&raft.Log{Index: i, Data: make([]byte, 10)}); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.order) > 2*len(c.ring) || cap(c.order) > 8*len(c.ring) {
		t.Errorf("order holds %d indexes (capacity %d) for a ring of %d", len(c.order), cap(c.order), len(c.ring))
	}
	if c.bytes != 80 {
		t.Errorf("%d bytes cached, want 80 (the last 8 entries)", c.bytes)
	}
}
