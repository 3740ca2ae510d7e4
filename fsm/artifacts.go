package fsm

import (
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

// The handlers of datasets and models (messages 10-19). A push returns
// *structs.ArtifactPushResponse; the message type, not the request, says
// which kind it is.

func applyDatasetPush(st *state.Store, index uint64, body []byte) any {
	return applyPush(st, index, body, DatasetPush, structs.KindDataset)
}

func applyModelPush(st *state.Store, index uint64, body []byte) any {
	return applyPush(st, index, body, ModelPush, structs.KindModel)
}

func applyPush(st *state.Store, index uint64, body []byte, t MessageType, kind structs.ArtifactKind) any {
	req, err := decode[structs.ArtifactPushRequest](t, body)
	if err != nil {
		return err
	}
	req.Kind = kind
	resp, err := st.PushArtifact(index, req)
	if err != nil {
		return err
	}
	return resp
}

func applyArtifactDelete(st *state.Store, index uint64, body []byte) any {
	req, err := decode[structs.ArtifactDeleteRequest](ArtifactDelete, body)
	if err != nil {
		return err
	}
	return errOrNil(st.DeleteArtifactVersion(index, req))
}
