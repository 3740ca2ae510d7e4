package state

import (
	"fmt"
	"io"

	"github.com/nai-project/nai/structs"
)

// Inspect reads a stream written by Persist to its end, exactly as Restore
// would (every record decoded and inserted into a scratch database, the
// end record's count checked), and counts the rows of each table, in
// persist order. No store is touched: a server checks a snapshot with it
// before raft may restore it, since a failed restore inside raft stops
// the server.
func Inspect(r io.Reader) ([]structs.SnapshotTable, error) {
	db, err := readDB(r)
	if err != nil {
		return nil, err
	}
	txn := db.Txn(false)
	defer txn.Abort()
	var out []structs.SnapshotTable
	for _, d := range tableDefs() {
		if d.derived {
			continue
		}
		it, err := txn.Get(d.schema.Name, "id")
		if err != nil {
			return nil, fmt.Errorf("inspect %s: %w", d.schema.Name, err)
		}
		n := 0
		for raw := it.Next(); raw != nil; raw = it.Next() {
			n++
		}
		out = append(out, structs.SnapshotTable{Name: d.schema.Name, Rows: n})
	}
	return out, nil
}
