package fsm

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/hashicorp/raft"
	"github.com/nai-project/nai/fsm/state"
	"github.com/nai-project/nai/structs"
)

// FSM applies committed raft log entries to the state store.
type FSM struct {
	logger *slog.Logger
	state  *state.Store
}

// New returns an FSM over an empty store. A nil logger discards logs.
func New(logger *slog.Logger) (*FSM, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	st, err := state.NewStore()
	if err != nil {
		return nil, fmt.Errorf("create fsm: %w", err)
	}
	return &FSM{logger: logger.With("component", "fsm"), state: st}, nil
}

// State returns the state store. It is the same store for the life of the
// FSM: Restore replaces its contents, not the store, so callers may keep it.
func (f *FSM) State() *state.Store { return f.state }

// handler decodes one request and makes one state store call.
type handler func(st *state.Store, index uint64, body []byte) any

// handlers is the one table from message type to handler.
var handlers = map[MessageType]handler{
	JobRegister:    applyJobRegister,
	JobCancel:      applyJobCancel,
	NodeRegister:   applyNodeRegister,
	NodeStatus:     applyNodeStatus,
	PlanApply:      applyPlanApply,
	AllocUpdate:    applyAllocUpdate,
	QueueUpsert:    applyQueueUpsert,
	QueueDelete:    applyQueueDelete,
	ShareUpsert:    applyShareUpsert,
	ShareDelete:    applyShareDelete,
	QuotaUpsert:    applyQuotaUpsert,
	QuotaDelete:    applyQuotaDelete,
	DatasetPush:    applyDatasetPush,
	ModelPush:      applyModelPush,
	ArtifactDelete: applyArtifactDelete,
	BlobRegister:   applyBlobRegister,
	BlobDrop:       applyBlobDrop,
	BlobSweep:      applyBlobSweep,

	// Node drain and eligibility.
	NodeDrain:         applyNodeDrain,
	NodeEligibility:   applyNodeEligibility,
	NodeDrainProgress: applyNodeDrainProgress,
}

var _ raft.FSM = (*FSM)(nil)

// Apply applies one committed entry and returns what its handler returns:
// *structs.JobRegisterResponse for JobRegister, []string (the allocation ids
// written) for PlanApply, nil otherwise, or an error, which raft hands to
// the caller of raft.Apply as the future's response.
func (f *FSM) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	if len(l.Data) < 2 {
		f.logger.Error("malformed raft entry", "index", l.Index, "len", len(l.Data))
		return fmt.Errorf("apply entry %d: malformed entry of %d bytes", l.Index, len(l.Data))
	}
	t, version := MessageType(l.Data[0]), l.Data[1]
	h, ok := handlers[t]
	if !ok {
		if t&IgnoreUnknownFlag != 0 {
			f.logger.Warn("skipping unknown raft message", "type", t, "index", l.Index)
			return nil
		}
		// Skipping would leave this server's state different from the
		// others'; stopping is the only safe answer (upgrade the server).
		panic(fmt.Sprintf("fsm: raft entry %d has unknown message type %d: this server is older than the log it replays", l.Index, uint8(t)))
	}
	if version != encodingVersion {
		f.logger.Error("unsupported encoding version", "type", t, "version", version, "index", l.Index)
		return fmt.Errorf("apply %s at %d: encoding version %d is not supported (expected %d)", t, l.Index, version, encodingVersion)
	}
	return h(f.state, l.Index, l.Data[2:])
}

func applyJobRegister(st *state.Store, index uint64, body []byte) any {
	req, err := decode[structs.JobRegisterRequest](JobRegister, body)
	if err != nil {
		return err
	}
	resp, err := st.RegisterJobs(index, req)
	if err != nil {
		return err
	}
	return resp
}

func applyJobCancel(st *state.Store, index uint64, body []byte) any {
	req, err := decode[structs.JobCancelRequest](JobCancel, body)
	if err != nil {
		return err
	}
	return errOrNil(st.CancelJobs(index, req))
}

func applyNodeRegister(st *state.Store, index uint64, body []byte) any {
	req, err := decode[structs.NodeRegisterRequest](NodeRegister, body)
	if err != nil {
		return err
	}
	return errOrNil(st.UpsertNode(index, req))
}

func applyNodeStatus(st *state.Store, index uint64, body []byte) any {
	req, err := decode[structs.NodeStatusRequest](NodeStatus, body)
	if err != nil {
		return err
	}
	return errOrNil(st.UpdateNodeStatus(index, req))
}

func applyPlanApply(st *state.Store, index uint64, body []byte) any {
	req, err := decode[structs.PlanApplyRequest](PlanApply, body)
	if err != nil {
		return err
	}
	applied, err := st.ApplyPlan(index, req)
	if err != nil {
		return err
	}
	return applied
}

func applyAllocUpdate(st *state.Store, index uint64, body []byte) any {
	req, err := decode[structs.AllocUpdateRequest](AllocUpdate, body)
	if err != nil {
		return err
	}
	return errOrNil(st.UpdateAllocs(index, req))
}

// errOrNil keeps a nil error a plain nil response, not a typed nil.
func errOrNil(err error) any {
	if err != nil {
		return err
	}
	return nil
}

// Snapshot captures the state for raft. It is cheap: an immutable view that
// Persist streams while Apply goes on.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{snap: f.state.Snapshot()}, nil
}

// Restore replaces the state with a snapshot's.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	if err := f.state.Restore(rc); err != nil {
		return fmt.Errorf("restore fsm: %w", err)
	}
	f.logger.Info("restored state from snapshot", "index", f.state.LatestIndex())
	return nil
}
