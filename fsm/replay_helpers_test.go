package fsm

import (
	"bytes"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/nai-project/nai/structs"
)

// replayJob1 applies entries to f in order, as raft would from index 1,
// and returns job 1 as f's state then holds it: the rolling-upgrade tests
// replay one log on servers of two formats.
func replayJob1(t *testing.T, f *FSM, entries [][]byte) *structs.Job {
	t.Helper()
	for i, data := range entries {
		if resp, ok := f.Apply(&raft.Log{Index: uint64(i + 1), Type: raft.LogCommand, Data: data}).(error); ok {
			t.Fatalf("entry %d: %v", i+1, resp)
		}
	}
	j, err := f.State().Snapshot().JobByID(nil, "1")
	if err != nil || j == nil {
		t.Fatalf("job 1: %v, %v", j, err)
	}
	return j
}

// persistState is f's state as a snapshot writes it: two servers whose
// bytes are equal hold the same state.
func persistState(t *testing.T, f *FSM) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f.State().Persist(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
