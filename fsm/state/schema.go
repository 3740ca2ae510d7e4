package state

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/structs"
)

// Table names.
const (
	tableJobs     = "jobs"
	tableAllocs   = "allocations"
	tableNodes    = "nodes"
	tableIndex    = "index"
	tableCounters = "counters"
	tableNodeEnds = "node_alloc_ends"
)

// Exported table names, for TableIndex.
const (
	TableJobs   = tableJobs
	TableAllocs = tableAllocs
	TableNodes  = tableNodes
)

// counterJobID is the name of the counter that numbers jobs.
const counterJobID = "job_id"

// IndexEntry is the raft index of the last write to one table.
type IndexEntry struct {
	Table string `json:"table"`
	Index uint64 `json:"index"`
}

// NodeAllocEnd holds the newest ServerIndex and ModifyIndex among a
// node's finished allocations. The node_live index holds the live ones,
// and an allocation that ends leaves it: these are how that change still
// counts, for the node's poll (the servers' changes: an allocation marked
// lost with its node; an end the node reported itself is not news to it)
// and for a drain (any end). Derived from the allocations
// (rebuildDerived), never persisted.
type NodeAllocEnd struct {
	NodeID      string `json:"node_id"`
	ServerIndex uint64 `json:"server_index"`
	ModifyIndex uint64 `json:"modify_index"`
}

// Counter is a named sequence kept in state (the last value handed out).
type Counter struct {
	Name  string `json:"name"`
	Value uint64 `json:"value"`
}

// tableDef declares one table: its memdb schema and the type of its rows.
// Snapshots persist and restore every table by walking tableDefs, so a new
// table cannot be left out of them.
type tableDef struct {
	schema *memdb.TableSchema
	newRow func() any
	// derived tables are computed from the others: not persisted, rebuilt
	// by rebuildDerived when a snapshot is restored, so that adding one
	// changes no snapshot's format.
	derived bool
}

func def[T any](ts *memdb.TableSchema) tableDef {
	return tableDef{schema: ts, newRow: func() any { return new(T) }}
}

// tableDefs lists every table of the state store, in the order snapshots
// write them.
func tableDefs() []tableDef {
	return append([]tableDef{
		def[structs.Node](&memdb.TableSchema{
			Name: tableNodes,
			Indexes: map[string]*memdb.IndexSchema{
				"id":   {Name: "id", Unique: true, Indexer: stringField(func(n *structs.Node) string { return n.ID })},
				"name": {Name: "name", Unique: true, Indexer: stringField(func(n *structs.Node) string { return n.Name })},
			},
		}),
		def[structs.Job](&memdb.TableSchema{
			Name: tableJobs,
			Indexes: map[string]*memdb.IndexSchema{
				"id":     {Name: "id", Unique: true, Indexer: &numericIDIndex{field: jobIDOf}},
				"status": {Name: "status", Indexer: stringField(func(j *structs.Job) string { return string(j.Status) })},
				// No index of a sweep's members: they are a range of
				// ids (jobsOfArray).
				// Services that have not ended: the gateway's and the
				// scheduler's way to them without a walk over every job.
				"service": {Name: "service", AllowMissing: true, Indexer: &sparseIndex{cond: func(obj any) (bool, error) {
					j, ok := obj.(*structs.Job)
					if !ok {
						return false, fmt.Errorf("service index: unexpected %T", obj)
					}
					return j.IsService() && !j.Status.Terminal(), nil
				}}},
			},
		}),
		def[structs.Allocation](&memdb.TableSchema{
			Name: tableAllocs,
			Indexes: map[string]*memdb.IndexSchema{
				"id": {Name: "id", Unique: true, Indexer: &numericIDIndex{field: allocIDOf}},
				// No index by job: allocsOfJob.
				// A node's live allocations only: the plan check, a
				// node's poll and a drain read what a node holds now, and
				// an index of every allocation kept each node's finished
				// ones (a hundred a node after 100,000 jobs) in their way
				// until job GC. An allocation that ends leaves it; the
				// node's poll still sees that through node_alloc_ends.
				"node_live": {Name: "node_live", AllowMissing: true, Indexer: stringFieldWhen(
					func(a *structs.Allocation) string { return a.NodeID },
					func(a *structs.Allocation) bool { return !a.Terminal() })},
				"live": {Name: "live", AllowMissing: true, Indexer: &sparseIndex{cond: func(obj any) (bool, error) {
					a, ok := obj.(*structs.Allocation)
					if !ok {
						return false, fmt.Errorf("live index: unexpected %T", obj)
					}
					return !a.Terminal(), nil
				}}},
			},
		}),
		{schema: &memdb.TableSchema{
			Name: tableNodeEnds,
			Indexes: map[string]*memdb.IndexSchema{
				"id": {Name: "id", Unique: true, Indexer: stringField(func(e *NodeAllocEnd) string { return e.NodeID })},
			},
		}, newRow: func() any { return new(NodeAllocEnd) }, derived: true},
		def[IndexEntry](&memdb.TableSchema{
			Name: tableIndex,
			Indexes: map[string]*memdb.IndexSchema{
				"id": {Name: "id", Unique: true, Indexer: stringField(func(e *IndexEntry) string { return e.Table })},
			},
		}),
		def[Counter](&memdb.TableSchema{
			Name: tableCounters,
			Indexes: map[string]*memdb.IndexSchema{
				"id": {Name: "id", Unique: true, Indexer: stringField(func(c *Counter) string { return c.Name })},
			},
		}),
		def[structs.Queue](queuesTable()),
		def[structs.Share](accountTable(tableShares)),
		def[structs.AccountQuota](accountTable(tableQuotas)),
		def[structs.Artifact](artifactTableSchema(tableDatasets)),
		def[structs.Artifact](artifactTableSchema(tableModels)),
		def[structs.Artifact](artifactTableSchema(tablePlugins)),
		def[structs.Blob](blobsTable()),
	}, append(aclTableDefs(), auditTableDef(), usageTableDef())...)
}

func schema() *memdb.DBSchema {
	s := &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{}}
	for _, d := range tableDefs() {
		s.Tables[d.schema.Name] = d.schema
	}
	return s
}

func jobIDOf(obj any) (string, error) {
	j, ok := obj.(*structs.Job)
	if !ok {
		return "", fmt.Errorf("job id index: unexpected %T", obj)
	}
	return j.ID, nil
}

func allocIDOf(obj any) (string, error) {
	a, ok := obj.(*structs.Allocation)
	if !ok {
		return "", fmt.Errorf("alloc id index: unexpected %T", obj)
	}
	return a.ID, nil
}

// stringIndex is memdb's StringFieldIndex (the same keys: the value and a
// NUL; no entry for ""; prefix lookups) with the field read by a typed
// function rather than by reflect's FieldByName, which took a tenth of
// the state machine's time in registering a sweep: memdb computes every
// index of a row on each insert, and an update's old row's too.
type stringIndex[T any] struct {
	get func(*T) string
	// when, if set, leaves out the rows it is false for (the index then
	// needs AllowMissing).
	when func(*T) bool
}

func stringField[T any](get func(*T) string) *stringIndex[T] {
	return &stringIndex[T]{get: get}
}

// stringFieldWhen is stringField over only the rows when is true for.
func stringFieldWhen[T any](get func(*T) string, when func(*T) bool) *stringIndex[T] {
	return &stringIndex[T]{get: get, when: when}
}

func (x *stringIndex[T]) FromObject(obj any) (bool, []byte, error) {
	o, ok := obj.(*T)
	if !ok {
		var want *T
		return false, nil, fmt.Errorf("string index: a %T, want %T", obj, want)
	}
	if x.when != nil && !x.when(o) {
		return false, nil, nil
	}
	v := x.get(o)
	if v == "" {
		return false, nil, nil
	}
	// memdb appends the row's id key to the value of a non-unique index
	// (a numeric id's key for jobs and allocations): room for it here
	// saves that append a second allocation on every insert.
	b := make([]byte, len(v)+1, len(v)+1+idKeyRoom)
	copy(b, v)
	return true, b, nil
}

// idKeyRoom is the room stringIndex leaves after its value for memdb to
// append a row's id key: one part of a numeric id.
const idKeyRoom = idKeyLen

// idKeyLen is the length of a numeric id's key without dots.
const idKeyLen = 16

func (x *stringIndex[T]) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("a string index takes one argument, got %d", len(args))
	}
	arg, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("a string index's argument must be a string, got %T", args[0])
	}
	return append([]byte(arg), 0), nil
}

// PrefixFromArgs is FromArgs without the terminating NUL.
func (x *stringIndex[T]) PrefixFromArgs(args ...any) ([]byte, error) {
	b, err := x.FromArgs(args...)
	if err != nil {
		return nil, err
	}
	return b[:len(b)-1], nil
}

// sparseIndex holds only the rows for which cond is true: looked up with
// true, as memdb's ConditionalIndex is, but without an entry for every
// other row. memdb writes every index of a row on each insert and update,
// so an index that held all rows (most jobs are not services, most
// allocations have ended) cost each job and allocation write one more
// tree path copied for nothing: 1 of 4 for a job.
type sparseIndex struct {
	cond func(any) (bool, error)
}

func (x *sparseIndex) FromObject(obj any) (bool, []byte, error) {
	ok, err := x.cond(obj)
	if err != nil || !ok {
		return false, nil, err
	}
	return true, []byte{1}, nil
}

func (x *sparseIndex) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("a sparse index takes one argument, got %d", len(args))
	}
	if v, ok := args[0].(bool); !ok || !v {
		return nil, fmt.Errorf("a sparse index holds only the rows its condition is true for: look it up with true, not %#v", args[0])
	}
	return []byte{1}, nil
}

// numericIDIndex indexes IDs made of dot-separated decimal numbers ("12",
// "12.3") as 16 big-endian nibbles per part (appendIDKey), so that
// iterating the table walks jobs and allocations in numeric order ("2"
// before "10"), the order the scheduler and `nai queue` need.
type numericIDIndex struct {
	field func(any) (string, error)
}

func (x *numericIDIndex) FromObject(obj any) (bool, []byte, error) {
	id, err := x.field(obj)
	if err != nil {
		return false, nil, err
	}
	key, ok := encodeNumericID(id)
	if !ok {
		return false, nil, fmt.Errorf("id %q is not a dotted decimal id", id)
	}
	return true, key, nil
}

func (x *numericIDIndex) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("id index takes one argument, got %d", len(args))
	}
	id, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("id index argument must be a string, got %T", args[0])
	}
	key, ok := encodeNumericID(id)
	if !ok {
		return nil, fmt.Errorf("id %q is not a dotted decimal id", id)
	}
	return key, nil
}

// PrefixFromArgs takes an idKeyPrefix: the first bytes of id keys, for
// watching a block of ids (jobsOfArray).
func (x *numericIDIndex) PrefixFromArgs(args ...any) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("id index prefix takes one argument, got %d", len(args))
	}
	p, ok := args[0].(idKeyPrefix)
	if !ok {
		return nil, fmt.Errorf("id index prefix argument must be an idKeyPrefix, got %T", args[0])
	}
	return p, nil
}

// idKeyPrefix is the first bytes of numericIDIndex keys.
type idKeyPrefix []byte

// encodeNumericID encodes "12.3" as two 16-nibble keys (appendIDKey). It
// refuses anything else, including leading zeros, so each id has one key.
// It allocates the key only (every job and allocation written computes it
// at least once, a sweep's registration a thousand times).
func encodeNumericID(id string) ([]byte, bool) {
	if id == "" {
		return nil, false
	}
	key := make([]byte, 0, idKeyLen*(strings.Count(id, ".")+1))
	for {
		p, rest, more := strings.Cut(id, ".")
		if p == "" || (len(p) > 1 && p[0] == '0') {
			return nil, false
		}
		for i := 0; i < len(p); i++ {
			if c := p[i]; c < '0' || c > '9' {
				return nil, false
			}
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return nil, false
		}
		key = appendIDKey(key, n)
		if !more {
			return key, true
		}
		id = rest
	}
}

// appendIDKey appends n as 16 big-endian nibbles, one to a byte, not as 8
// bytes: ids are handed out in sequence, so with whole bytes the radix
// nodes above the last two bytes fill up to 256 edges, and memdb copies a
// node's edges on every write below it (4 KiB a node, twice per index
// per write). With nibbles a node has at most 16 edges (256 bytes); the
// path is twice as long but each write copies a fraction of it. Measured
// by BenchmarkLifecycle (lifecycle_bench_test.go): 88 -> 51 KB allocated
// and 171-176 -> 128-136 us per job with 50,000 finished jobs in state;
// 5 or 6 bits to a byte came out between the two.
func appendIDKey(key []byte, n uint64) []byte {
	for shift := 60; shift >= 0; shift -= 4 {
		key = append(key, byte(n>>shift)&0xf)
	}
	return key
}

// idKeyValue is the number appendIDKey encoded in key[:idKeyLen].
func idKeyValue(key []byte) uint64 {
	var n uint64
	for _, b := range key[:idKeyLen] {
		n = n<<4 | uint64(b)
	}
	return n
}

// validNumericID reports whether id can be looked up in a numeric id index.
func validNumericID(id string) bool {
	_, ok := encodeNumericID(id)
	return ok
}
