package state

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/nai-project/nai/structs"
)

// The audit table holds the log of API writes, oldest first. It is bounded:
// each append drops events older than its Before and the oldest beyond its
// Keep, so it never grows with the life of the cluster.
const (
	tableAudit = "audit"
	TableAudit = tableAudit
)

func auditTableDef() tableDef {
	return def[structs.AuditEvent](&memdb.TableSchema{
		Name: tableAudit,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &numericIDIndex{field: func(obj any) (string, error) {
				e, ok := obj.(*structs.AuditEvent)
				if !ok {
					return "", fmt.Errorf("audit id index: unexpected %T", obj)
				}
				return e.ID, nil
			}}},
		},
	})
}

// AppendAudit stores a batch of events under ids made of the raft index
// and their place in the batch, then trims the table.
func (s *Store) AppendAudit(index uint64, req *structs.AuditAppendRequest) error {
	if req == nil {
		return structs.NewError(structs.CodeInvalid, "audit: empty request")
	}
	return s.write(func(txn *memdb.Txn) error {
		for i, e := range req.Events {
			if e == nil {
				continue
			}
			c := *e
			c.ID = fmt.Sprintf("%d.%d", index, i+1)
			if err := txn.Insert(tableAudit, &c); err != nil {
				return fmt.Errorf("insert audit event: %w", err)
			}
		}
		if err := trimAudit(txn, req.Keep, req.Before); err != nil {
			return err
		}
		return bumpIndex(txn, tableAudit, index)
	})
}

func trimAudit(txn *memdb.Txn, keep int, before time.Time) error {
	n := txn.Snapshot() // counting needs a stable view while deleting
	it, err := n.Get(tableAudit, "id")
	if err != nil {
		return err
	}
	total := 0
	for raw := it.Next(); raw != nil; raw = it.Next() {
		total++
	}
	it, err = n.Get(tableAudit, "id")
	if err != nil {
		return err
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		e := raw.(*structs.AuditEvent)
		old := !before.IsZero() && e.Time.Before(before)
		over := keep > 0 && total > keep
		if !old && !over {
			break // the rest is newer
		}
		if err := txn.Delete(tableAudit, e); err != nil {
			return fmt.Errorf("trim audit: %w", err)
		}
		total--
	}
	return nil
}

// AuditFilter selects audit events.
type AuditFilter struct {
	Since time.Time
	User  string
	Limit int
}

// Audit returns the events that match f, oldest first; with a Limit, the
// newest Limit of them.
func (sn *Snapshot) Audit(f AuditFilter) ([]*structs.AuditEvent, error) {
	all, err := list[structs.AuditEvent](sn.txn, nil, tableAudit, "id")
	if err != nil {
		return nil, err
	}
	var out []*structs.AuditEvent
	for _, e := range all {
		if !f.Since.IsZero() && e.Time.Before(f.Since) {
			continue
		}
		if f.User != "" && !strings.EqualFold(e.User, f.User) {
			continue
		}
		out = append(out, e)
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out, nil
}
