package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/structs"
)

// The scheduling policy tables: queue definitions, fair-share shares and
// quotas per user and group. The leader reads them on every pass.
const (
	tableQueues = "queues"
	tableShares = "shares"
	tableQuotas = "quotas"

	TableQueues = tableQueues
	TableShares = tableShares
	TableQuotas = tableQuotas
)

func queuesTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableQueues,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Name"}},
		},
	}
}

// accountTable is keyed by kind and name, so a user and a group may share a
// name.
func accountTable(name string) *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: name,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
				&memdb.StringFieldIndex{Field: "Kind"},
				&memdb.StringFieldIndex{Field: "Name"},
			}}},
		},
	}
}

// UpsertQueue creates or replaces a queue definition.
func (s *Store) UpsertQueue(index uint64, req *structs.QueueUpsertRequest) error {
	if req == nil || req.Queue == nil {
		return structs.NewError(structs.CodeInvalid, "upsert queue: the request has no queue")
	}
	q := req.Queue.Copy()
	if err := q.Validate(); err != nil {
		return structs.NewError(structs.CodeInvalid, "queue %q is invalid: %v", q.Name, err)
	}
	return s.write(func(txn *memdb.Txn) error {
		old, err := first[structs.Queue](txn, nil, tableQueues, "id", q.Name)
		if err != nil {
			return err
		}
		q.CreateIndex, q.ModifyIndex = index, index
		if old != nil {
			q.CreateIndex = old.CreateIndex
		}
		if err := txn.Insert(tableQueues, q); err != nil {
			return fmt.Errorf("insert queue %s: %w", q.Name, err)
		}
		return bumpIndex(txn, tableQueues, index)
	})
}

// DeleteQueue removes a queue definition. Jobs already in it stay, and wait
// with a reason until it is defined again; the default queue falls back to
// its implicit, unlimited definition.
func (s *Store) DeleteQueue(index uint64, req *structs.QueueDeleteRequest) error {
	if req == nil || req.Name == "" {
		return structs.NewError(structs.CodeInvalid, "delete queue: the request names no queue")
	}
	return s.write(func(txn *memdb.Txn) error {
		n, err := txn.DeleteAll(tableQueues, "id", req.Name)
		if err != nil {
			return fmt.Errorf("delete queue %s: %w", req.Name, err)
		}
		if n == 0 && req.Name == structs.DefaultQueueName {
			return structs.NewError(structs.CodeNotFound, "queue default has no definition to delete: it always exists, with no limits unless one is applied")
		}
		if n == 0 {
			return structs.NewError(structs.CodeNotFound, "queue %s not found", req.Name)
		}
		return bumpIndex(txn, tableQueues, index)
	})
}

// Queues returns the stored queue definitions by name. The implicit default
// queue is not among them unless it was defined.
func (sn *Snapshot) Queues(ws memdb.WatchSet) ([]*structs.Queue, error) {
	return list[structs.Queue](sn.txn, ws, tableQueues, "id")
}

// QueueByName returns a stored queue, or nil when there is none.
func (sn *Snapshot) QueueByName(ws memdb.WatchSet, name string) (*structs.Queue, error) {
	return first[structs.Queue](sn.txn, ws, tableQueues, "id", name)
}

// AdmitJob makes the registration check of admitJob against this view,
// for dry runs: it fills j's time limit from its queue, so pass a copy.
func (sn *Snapshot) AdmitJob(j *structs.Job) error { return admitJob(sn.txn, j, nil) }

// queueLookup remembers the queue a registration looked up last: the jobs
// of one submission (a sweep's thousand members) mostly name the same
// one, which was then read from the state store a thousand times.
type queueLookup struct {
	name  string
	queue *structs.Queue
}

// admitJob checks a job being registered against its queue: the queue must
// exist (or be the default) and its limits hold; the queue's default time
// limit is filled in. last, when not nil, is the queue of the previous job
// of the same transaction, used when j names the same.
func admitJob(txn *memdb.Txn, j *structs.Job, last *queueLookup) error {
	name := j.Queue
	if name == "" {
		name = structs.DefaultQueueName
	}
	var q *structs.Queue
	if last != nil && last.name == name {
		q = last.queue
	} else {
		var err error
		if q, err = first[structs.Queue](txn, nil, tableQueues, "id", name); err != nil {
			return err
		}
		if last != nil {
			*last = queueLookup{name: name, queue: q}
		}
	}
	if q == nil {
		if name == structs.DefaultQueueName {
			return nil
		}
		return structs.NewError(structs.CodeInvalid, "queue %q does not exist (see `nai operator queue list`)", name)
	}
	if err := q.Admit(j); err != nil {
		return structs.NewError(structs.CodeInvalid, "%v", err)
	}
	return nil
}

// UpsertShare sets the fair-share shares of a user or group.
func (s *Store) UpsertShare(index uint64, req *structs.ShareUpsertRequest) error {
	if req == nil || req.Share == nil {
		return structs.NewError(structs.CodeInvalid, "set shares: the request has no share")
	}
	sh := *req.Share
	if err := sh.Validate(); err != nil {
		return structs.NewError(structs.CodeInvalid, "shares of %s %q are invalid: %v", sh.Kind, sh.Name, err)
	}
	return s.write(func(txn *memdb.Txn) error {
		old, err := first[structs.Share](txn, nil, tableShares, "id", string(sh.Kind), sh.Name)
		if err != nil {
			return err
		}
		sh.CreateIndex, sh.ModifyIndex = index, index
		if old != nil {
			sh.CreateIndex = old.CreateIndex
		}
		if err := txn.Insert(tableShares, &sh); err != nil {
			return fmt.Errorf("insert shares of %s %s: %w", sh.Kind, sh.Name, err)
		}
		return bumpIndex(txn, tableShares, index)
	})
}

// DeleteShare returns a user or group to the default shares.
func (s *Store) DeleteShare(index uint64, req *structs.AccountDeleteRequest) error {
	return s.deleteAccount(index, tableShares, "shares", req)
}

// Shares returns the stored shares, by kind then name.
func (sn *Snapshot) Shares(ws memdb.WatchSet) ([]*structs.Share, error) {
	return list[structs.Share](sn.txn, ws, tableShares, "id")
}

// UpsertQuota sets the quota of a user or group.
func (s *Store) UpsertQuota(index uint64, req *structs.QuotaUpsertRequest) error {
	if req == nil || req.Quota == nil {
		return structs.NewError(structs.CodeInvalid, "set quota: the request has no quota")
	}
	q := *req.Quota
	if err := q.Validate(); err != nil {
		return structs.NewError(structs.CodeInvalid, "quota of %s %q is invalid: %v", q.Kind, q.Name, err)
	}
	return s.write(func(txn *memdb.Txn) error {
		old, err := first[structs.AccountQuota](txn, nil, tableQuotas, "id", string(q.Kind), q.Name)
		if err != nil {
			return err
		}
		q.CreateIndex, q.ModifyIndex = index, index
		if old != nil {
			q.CreateIndex = old.CreateIndex
		}
		if err := txn.Insert(tableQuotas, &q); err != nil {
			return fmt.Errorf("insert quota of %s %s: %w", q.Kind, q.Name, err)
		}
		return bumpIndex(txn, tableQuotas, index)
	})
}

// DeleteQuota removes the quota of a user or group (no limit again).
func (s *Store) DeleteQuota(index uint64, req *structs.AccountDeleteRequest) error {
	return s.deleteAccount(index, tableQuotas, "quota", req)
}

// Quotas returns the stored quotas, by kind then name.
func (sn *Snapshot) Quotas(ws memdb.WatchSet) ([]*structs.AccountQuota, error) {
	return list[structs.AccountQuota](sn.txn, ws, tableQuotas, "id")
}

func (s *Store) deleteAccount(index uint64, table, what string, req *structs.AccountDeleteRequest) error {
	if req == nil {
		return structs.NewError(structs.CodeInvalid, "delete %s: empty request", what)
	}
	if err := req.Kind.Validate(); err != nil {
		return structs.NewError(structs.CodeInvalid, "delete %s: %v", what, err)
	}
	return s.write(func(txn *memdb.Txn) error {
		n, err := txn.DeleteAll(table, "id", string(req.Kind), req.Name)
		if err != nil {
			return fmt.Errorf("delete %s of %s %s: %w", what, req.Kind, req.Name, err)
		}
		if n == 0 {
			return structs.NewError(structs.CodeNotFound, "%s %s has no %s set", req.Kind, req.Name, what)
		}
		return bumpIndex(txn, table, index)
	})
}
