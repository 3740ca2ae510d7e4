package fsm

import (
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

// The handlers of node drain and eligibility (messages 40-49).

func applyNodeDrain(st *state.Store, index uint64, body []byte) any {
	req, err := decode[structs.NodeDrainRequest](NodeDrain, body)
	if err != nil {
		return err
	}
	return errOrNil(st.DrainNode(index, req))
}

func applyNodeEligibility(st *state.Store, index uint64, body []byte) any {
	req, err := decode[structs.NodeEligibilityRequest](NodeEligibility, body)
	if err != nil {
		return err
	}
	return errOrNil(st.SetNodeEligibility(index, req))
}

func applyNodeDrainProgress(st *state.Store, index uint64, body []byte) any {
	req, err := decode[structs.NodeDrainProgressRequest](NodeDrainProgress, body)
	if err != nil {
		return err
	}
	return errOrNil(st.ProgressNodeDrain(index, req))
}
