package server

import (
	"fmt"
	"sync"

	"github.com/hashicorp/raft"
)

// logCache keeps the last entries raft wrote in memory, as raft's own
// LogCache does, for followers a few entries behind; unlike it, it bounds
// their bytes as well as their number. raft's holds the last N entries
// whatever their size: after a busy spell of large entries (1000-member
// sweeps of 83 KB, plans placing hundreds of jobs, job GC naming thousands)
// its 128 entries held 8.5 MB more than after a quiet one (the scale
// benchmark's heap profiles), memory that depended on what the cluster
// last did. Entries over maxEntry are never cached; the oldest go first
// when the total passes maxBytes. A miss reads the store.
type logCache struct {
	store    raft.LogStore
	maxEntry int
	maxBytes int

	mu    sync.RWMutex
	ring  []*raft.Log // by index modulo its length
	order []uint64    // cached indexes, oldest first
	bytes int         // the Data of the cached entries
}

func newLogCache(store raft.LogStore, entries, maxBytes, maxEntry int) (*logCache, error) {
	if entries <= 0 || maxBytes <= 0 || maxEntry <= 0 || maxEntry > maxBytes {
		return nil, fmt.Errorf("log cache: %d entries, %d bytes, %d bytes an entry: expected positive sizes, an entry no larger than the whole", entries, maxBytes, maxEntry)
	}
	return &logCache{store: store, maxEntry: maxEntry, maxBytes: maxBytes, ring: make([]*raft.Log, entries)}, nil
}

// IsMonotonic passes the store's answer on: raft asks the store it is
// given whether it keeps entries in order.
func (c *logCache) IsMonotonic() bool {
	if m, ok := c.store.(raft.MonotonicLogStore); ok {
		return m.IsMonotonic()
	}
	return false
}

func (c *logCache) GetLog(idx uint64, log *raft.Log) error {
	c.mu.RLock()
	cached := c.ring[idx%uint64(len(c.ring))]
	c.mu.RUnlock()
	if cached != nil && cached.Index == idx {
		*log = *cached
		return nil
	}
	return c.store.GetLog(idx, log)
}

func (c *logCache) StoreLog(log *raft.Log) error { return c.StoreLogs([]*raft.Log{log}) }

func (c *logCache) StoreLogs(logs []*raft.Log) error {
	if err := c.store.StoreLogs(logs); err != nil {
		return fmt.Errorf("store raft log entries: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range logs {
		slot := l.Index % uint64(len(c.ring))
		if old := c.ring[slot]; old != nil {
			c.bytes -= len(old.Data)
			c.ring[slot] = nil
		}
		if len(l.Data) > c.maxEntry {
			continue
		}
		c.ring[slot] = l
		c.bytes += len(l.Data)
		c.order = append(c.order, l.Index)
	}
	// Drop the oldest until the bytes fit; forget indexes whose slot a
	// later entry took (their bytes are already off the total).
	for len(c.order) > 0 {
		idx := c.order[0]
		slot := idx % uint64(len(c.ring))
		live := c.ring[slot] != nil && c.ring[slot].Index == idx
		if live && c.bytes <= c.maxBytes {
			break
		}
		if live {
			c.bytes -= len(c.ring[slot].Data)
			c.ring[slot] = nil
		}
		c.order = c.order[1:]
	}
	if cap(c.order) > 4*len(c.ring) && len(c.order) <= len(c.ring) {
		c.order = append([]uint64(nil), c.order...) // let the old array go
	}
	return nil
}

func (c *logCache) FirstIndex() (uint64, error) { return c.store.FirstIndex() }

func (c *logCache) LastIndex() (uint64, error) { return c.store.LastIndex() }

func (c *logCache) DeleteRange(min, max uint64) error {
	c.mu.Lock()
	c.ring = make([]*raft.Log, len(c.ring))
	c.order, c.bytes = nil, 0
	c.mu.Unlock()
	return c.store.DeleteRange(min, max)
}
