package fsm

import (
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

// The handlers of blob metadata (messages 13-15): which servers hold a
// blob, and garbage collection. A sweep returns *structs.BlobSweepResponse.

func applyBlobRegister(st *state.Store, index uint64, body []byte) any {
	req, err := decode[structs.BlobRegisterRequest](BlobRegister, body)
	if err != nil {
		return err
	}
	return errOrNil(st.RegisterBlob(index, req))
}

func applyBlobDrop(st *state.Store, index uint64, body []byte) any {
	req, err := decode[structs.BlobDropRequest](BlobDrop, body)
	if err != nil {
		return err
	}
	return errOrNil(st.DropBlob(index, req))
}

func applyBlobSweep(st *state.Store, index uint64, body []byte) any {
	req, err := decode[structs.BlobSweepRequest](BlobSweep, body)
	if err != nil {
		return err
	}
	resp, err := st.SweepBlobs(index, req)
	if err != nil {
		return err
	}
	return resp
}
