package state

import (
	"slices"
	"testing"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nai-project/nai/structs"
)

// The sparse index holds the rows its condition is true for, follows a
// row whose condition changes either way, keeps id order, and is looked
// up with true only.
func TestSparseIndex(t *testing.T) {
	db, err := memdb.NewMemDB(&memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		"jobs": {Name: "jobs", Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &numericIDIndex{field: jobIDOf}},
			"running": {Name: "running", AllowMissing: true, Indexer: &sparseIndex{cond: func(obj any) (bool, error) {
				return obj.(*structs.Job).Status == structs.JobRunning, nil
			}}},
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	put := func(id string, st structs.JobStatus) {
		txn := db.Txn(true)
		if err := txn.Insert("jobs", &structs.Job{ID: id, Status: st}); err != nil {
			t.Fatal(err)
		}
		txn.Commit()
	}
	running := func() []string {
		var ids []string
		it, err := db.Txn(false).Get("jobs", "running", true)
		if err != nil {
			t.Fatal(err)
		}
		for o := it.Next(); o != nil; o = it.Next() {
			ids = append(ids, o.(*structs.Job).ID)
		}
		return ids
	}
	put("10", structs.JobRunning)
	put("2", structs.JobPending)
	put("3", structs.JobRunning)
	if got, want := running(), []string{"3", "10"}; !slices.Equal(got, want) {
		t.Errorf("running %v, want %v", got, want)
	}
	put("3", structs.JobComplete) // true -> false: leaves the index
	put("2", structs.JobRunning)  // false -> true: enters it
	if got, want := running(), []string{"2", "10"}; !slices.Equal(got, want) {
		t.Errorf("after changes: running %v, want %v", got, want)
	}
	for _, args := range [][]any{{false}, {"true"}, {true, true}} {
		if _, err := db.Txn(false).Get("jobs", "running", args...); err == nil {
			t.Errorf("lookup with %#v: no error", args)
		}
	}
}
