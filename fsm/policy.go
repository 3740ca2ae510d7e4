package fsm

import (
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

// Handlers of the scheduling policy messages (queues, shares, quotas).

func applyQueueUpsert(st *state.Store, index uint64, body []byte) any {
	req, err := decode[structs.QueueUpsertRequest](QueueUpsert, body)
	if err != nil {
		return err
	}
	return errOrNil(st.UpsertQueue(index, req))
}

func applyQueueDelete(st *state.Store, index uint64, body []byte) any {
	req, err := decode[structs.QueueDeleteRequest](QueueDelete, body)
	if err != nil {
		return err
	}
	return errOrNil(st.DeleteQueue(index, req))
}

func applyShareUpsert(st *state.Store, index uint64, body []byte) any {
	req, err := decode[structs.ShareUpsertRequest](ShareUpsert, body)
	if err != nil {
		return err
	}
	return errOrNil(st.UpsertShare(index, req))
}

func applyShareDelete(st *state.Store, index uint64, body []byte) any {
	req, err := decode[structs.AccountDeleteRequest](ShareDelete, body)
	if err != nil {
		return err
	}
	return errOrNil(st.DeleteShare(index, req))
}

func applyQuotaUpsert(st *state.Store, index uint64, body []byte) any {
	req, err := decode[structs.QuotaUpsertRequest](QuotaUpsert, body)
	if err != nil {
		return err
	}
	return errOrNil(st.UpsertQuota(index, req))
}

func applyQuotaDelete(st *state.Store, index uint64, body []byte) any {
	req, err := decode[structs.AccountDeleteRequest](QuotaDelete, body)
	if err != nil {
		return err
	}
	return errOrNil(st.DeleteQuota(index, req))
}
