package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/structs"
)

// first looks up one object and watches it (a nil ws watches nothing).
func first[T any](txn *memdb.Txn, ws memdb.WatchSet, table, index string, args ...any) (*T, error) {
	ch, raw, err := txn.FirstWatch(table, index, args...)
	if err != nil {
		return nil, fmt.Errorf("read %s by %s: %w", table, index, err)
	}
	if ws != nil {
		ws.Add(ch)
	}
	if raw == nil {
		return nil, nil
	}
	return raw.(*T), nil
}

// list collects every object an index lookup yields, in index order, and
// watches the range.
func list[T any](txn *memdb.Txn, ws memdb.WatchSet, table, index string, args ...any) ([]*T, error) {
	it, err := txn.Get(table, index, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s by %s: %w", table, index, err)
	}
	if ws != nil {
		ws.Add(it.WatchCh())
	}
	var out []*T
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*T))
	}
	return out, nil
}

// JobByID returns a job, or nil when there is none.
func (sn *Snapshot) JobByID(ws memdb.WatchSet, id string) (*structs.Job, error) {
	return jobByID(sn.txn, ws, id)
}

func jobByID(txn *memdb.Txn, ws memdb.WatchSet, id string) (*structs.Job, error) {
	if !validNumericID(id) || containsDot(id) {
		return nil, nil // no job can have such an id
	}
	return first[structs.Job](txn, ws, tableJobs, "id", id)
}

// Jobs returns every job in numeric id order.
func (sn *Snapshot) Jobs(ws memdb.WatchSet) ([]*structs.Job, error) {
	return list[structs.Job](sn.txn, ws, tableJobs, "id")
}

// JobsByStatus returns the jobs with one status in numeric id order.
func (sn *Snapshot) JobsByStatus(ws memdb.WatchSet, st structs.JobStatus) ([]*structs.Job, error) {
	return list[structs.Job](sn.txn, ws, tableJobs, "status", string(st))
}

// JobsByArray returns the members of a sweep in numeric id order.
func (sn *Snapshot) JobsByArray(ws memdb.WatchSet, arrayID string) ([]*structs.Job, error) {
	return jobsOfArray(sn.txn, ws, arrayID)
}

// jobsOfArray returns the members of the sweep whose id (its first
// member's) is arrayID, in id order. RegisterJobs, the only writer of
// ArrayID, gives a sweep's members consecutive ids from the first one's
// (the ids of one transaction), so they are a range of the id index: read
// from there rather than from an index of their own, which cost every
// write of every member a third more tree work (a third of the state
// machine's inserts for a sweep's registration, the scheduler's reasons,
// a cancel). Members removed by job GC leave gaps; the first job from
// arrayID on that is not a member ends the range.
//
// With ws, it watches the blocks of 256 ids the members' range touches
// (the radix nodes of their keys' first 14 nibbles): a write to any member
// wakes the watch, and so may a write to a job of a neighbouring id in
// the first or last block.
func jobsOfArray(txn *memdb.Txn, ws memdb.WatchSet, arrayID string) ([]*structs.Job, error) {
	first, ok := encodeNumericID(arrayID)
	if !ok || len(first) != idKeyLen {
		return nil, nil // not a job id: no array has it
	}
	it, err := txn.LowerBound(tableJobs, "id", arrayID)
	if err != nil {
		return nil, fmt.Errorf("list the members of array %s: %w", arrayID, err)
	}
	var out []*structs.Job
	for raw := it.Next(); raw != nil; raw = it.Next() {
		j := raw.(*structs.Job)
		if j.ArrayID != arrayID {
			break
		}
		out = append(out, j)
	}
	if ws != nil && len(out) > 0 {
		last, _ := encodeNumericID(out[len(out)-1].ID)
		lo, hi := idKeyValue(first)>>8, idKeyValue(last)>>8
		for b := lo; b <= hi; b++ {
			// A block of 256 ids shares all but its last two nibbles.
			key := appendIDKey(make([]byte, 0, idKeyLen), b<<8)
			it, err := txn.Get(tableJobs, "id_prefix", idKeyPrefix(key[:idKeyLen-2]))
			if err != nil {
				return nil, fmt.Errorf("watch the members of array %s: %w", arrayID, err)
			}
			ws.Add(it.WatchCh())
		}
	}
	return out, nil
}

// allocsOfJob lists a job's allocations in id order. There is no index
// of allocations by job: their ids are "<jobID>.<attempt>[.<rank>]"
// (allocIDMatches, checked on every write), so a job's allocations are
// the block of the id index under the job id's key, and an index of its
// own would be one more tree path copied on every write of every
// allocation (a quarter of the allocations' index work).
func allocsOfJob(txn *memdb.Txn, ws memdb.WatchSet, jobID string) ([]*structs.Allocation, error) {
	key, ok := encodeNumericID(jobID)
	if !ok || len(key) != idKeyLen {
		return nil, nil // no job can have such an id (jobByID)
	}
	it, err := txn.Get(tableAllocs, "id_prefix", idKeyPrefix(key))
	if err != nil {
		return nil, fmt.Errorf("list the allocations of job %s: %w", jobID, err)
	}
	if ws != nil {
		ws.Add(it.WatchCh())
	}
	var out []*structs.Allocation
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if a := raw.(*structs.Allocation); a.JobID == jobID {
			out = append(out, a)
		}
	}
	return out, nil
}

// AllocByID returns an allocation, or nil when there is none.
func (sn *Snapshot) AllocByID(ws memdb.WatchSet, id string) (*structs.Allocation, error) {
	return allocByID(sn.txn, ws, id)
}

func allocByID(txn *memdb.Txn, ws memdb.WatchSet, id string) (*structs.Allocation, error) {
	if !validNumericID(id) {
		return nil, nil
	}
	return first[structs.Allocation](txn, ws, tableAllocs, "id", id)
}

// Allocs returns every allocation in id order.
func (sn *Snapshot) Allocs(ws memdb.WatchSet) ([]*structs.Allocation, error) {
	return list[structs.Allocation](sn.txn, ws, tableAllocs, "id")
}

// AllocsByJob returns a job's allocations ordered by attempt.
func (sn *Snapshot) AllocsByJob(ws memdb.WatchSet, jobID string) ([]*structs.Allocation, error) {
	return allocsOfJob(sn.txn, ws, jobID)
}

// LiveAllocsByNode returns the allocations a node holds (those not
// finished) in id order.
func (sn *Snapshot) LiveAllocsByNode(ws memdb.WatchSet, nodeID string) ([]*structs.Allocation, error) {
	return list[structs.Allocation](sn.txn, ws, tableAllocs, "node_live", nodeID)
}

// NodeAllocs returns the allocations a node holds in id order, and the
// raft index of the newest change the servers made to the node's
// allocations (PollIndex): a live one's, or the write that ended one and
// took it out of the list. The node's own reports do not count: it knows
// them. ws, if set, wakes on any change of the list. A node's poll waits
// on it.
func (sn *Snapshot) NodeAllocs(ws memdb.WatchSet, nodeID string) ([]*structs.Allocation, uint64, error) {
	return sn.nodeAllocs(ws, nodeID, true)
}

// NodeAllocsChanged returns the raft index of the newest write of any of
// a node's allocations, its own reports and the ends of allocations
// included; ws, if set, wakes on any. A drain waits on it.
func (sn *Snapshot) NodeAllocsChanged(ws memdb.WatchSet, nodeID string) (uint64, error) {
	_, idx, err := sn.nodeAllocs(ws, nodeID, false)
	return idx, err
}

// nodeAllocs lists a node's live allocations with the newest of their
// and its ended allocations' indexes: the servers' changes only
// (ServerIndex, PollIndex) or every write (ModifyIndex).
func (sn *Snapshot) nodeAllocs(ws memdb.WatchSet, nodeID string, serverOnly bool) ([]*structs.Allocation, uint64, error) {
	allocs, err := sn.LiveAllocsByNode(ws, nodeID)
	if err != nil {
		return nil, 0, err
	}
	end, err := first[NodeAllocEnd](sn.txn, ws, tableNodeEnds, "id", nodeID)
	if err != nil {
		return nil, 0, err
	}
	var idx uint64
	switch {
	case end != nil && serverOnly:
		idx = end.ServerIndex
	case end != nil:
		idx = end.ModifyIndex
	}
	for _, a := range allocs {
		if serverOnly {
			idx = max(idx, a.PollIndex())
		} else {
			idx = max(idx, a.ModifyIndex)
		}
	}
	return allocs, idx, nil
}

// LiveAllocsList returns the allocations whose client status is not
// terminal (they hold resources), in id order.
func (sn *Snapshot) LiveAllocsList(ws memdb.WatchSet) ([]*structs.Allocation, error) {
	return list[structs.Allocation](sn.txn, ws, tableAllocs, "live", true)
}

// NodeByID returns a node, or nil when there is none.
func (sn *Snapshot) NodeByID(ws memdb.WatchSet, id string) (*structs.Node, error) {
	if id == "" {
		return nil, nil
	}
	return first[structs.Node](sn.txn, ws, tableNodes, "id", id)
}

// NodeByName returns a node by its unique name, or nil when there is none.
func (sn *Snapshot) NodeByName(ws memdb.WatchSet, name string) (*structs.Node, error) {
	if name == "" {
		return nil, nil
	}
	return first[structs.Node](sn.txn, ws, tableNodes, "name", name)
}

// Nodes returns every node ordered by id.
func (sn *Snapshot) Nodes(ws memdb.WatchSet) ([]*structs.Node, error) {
	return list[structs.Node](sn.txn, ws, tableNodes, "id")
}

func containsDot(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return true
		}
	}
	return false
}
