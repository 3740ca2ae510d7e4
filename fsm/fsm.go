package fsm

import (
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"

	"github.com/hashicorp/raft"
	"github.com/nai-project/nai/fsm/state"
)

// FSM applies committed raft log entries to the state store.
type FSM struct {
	logger *slog.Logger
	state  *state.Store
	// pre holds entries the leader decodes ahead of Apply (predecode.go);
	// preHits counts the entries Apply took from it.
	pre     preMap
	preHits atomic.Uint64
}

// New returns an FSM over an empty store. A nil logger discards logs; the
// logger is used as given (the server names it subsystem=fsm under its
// component=server, so no line carries an attribute twice).
func New(logger *slog.Logger) (*FSM, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	st, err := state.NewStore()
	if err != nil {
		return nil, fmt.Errorf("create fsm: %w", err)
	}
	return &FSM{logger: logger, state: st}, nil
}

// State returns the state store. It is the same store for the life of the
// FSM: Restore replaces its contents, not the store, so callers may keep it.
func (f *FSM) State() *state.Store { return f.state }

var _ raft.FSM = (*FSM)(nil)

// Apply applies one committed entry and returns what its command returns:
// *structs.JobRegisterResponse for JobRegister, []string (the allocation ids
// written) for PlanApply, nil otherwise, or an error, which raft hands to
// the caller of raft.Apply as the future's response.
//
// An entry this server cannot read (an unknown command, or a version of a
// known one newer than this binary) is skipped when it carries
// IgnoreUnknownFlag; otherwise Apply panics: applying nothing would leave
// this server's state different from the others', so stopping (and
// upgrading the binary) is the only safe answer.
func (f *FSM) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	if len(l.Data) < 2 {
		f.logger.Error("malformed raft entry", "index", l.Index, "len", len(l.Data))
		return fmt.Errorf("apply entry %d: malformed entry of %d bytes", l.Index, len(l.Data))
	}
	raw, version := MessageType(l.Data[0]), l.Data[1]
	c, ok := commands[raw.Base()]
	if ok {
		if req, err, ok := f.takePredecoded(l.Data); ok {
			if err != nil {
				f.logger.Error("undecodable raft entry", "type", c.name, "version", version, "index", l.Index, "err", err)
				return fmt.Errorf("apply entry %d: decode %s version %d: %w", l.Index, c.name, version, err)
			}
			return c.apply(f.state, l.Index, req)
		}
	}
	if !ok {
		if raw&IgnoreUnknownFlag != 0 {
			f.logger.Warn("skipping unknown raft message", "type", raw, "index", l.Index)
			return nil
		}
		panic(fmt.Sprintf("fsm: raft entry %d has unknown message type %d: this server is older than the log it replays", l.Index, uint8(raw)))
	}
	dec, ok := c.decoders[version]
	if !ok {
		if raw&IgnoreUnknownFlag != 0 {
			f.logger.Warn("skipping raft message of an unknown version", "type", raw, "version", version, "index", l.Index)
			return nil
		}
		panic(fmt.Sprintf("fsm: raft entry %d is %s version %d; this server reads up to version %d: it is older than the log it replays", l.Index, c.name, version, c.version))
	}
	req, err := dec(l.Data[2:])
	if err != nil {
		f.logger.Error("undecodable raft entry", "type", c.name, "version", version, "index", l.Index, "err", err)
		return fmt.Errorf("apply entry %d: decode %s version %d: %w", l.Index, c.name, version, err)
	}
	return c.apply(f.state, l.Index, req)
}

// decoderFor finds the command and decoder of an entry, ok false when
// this server cannot read it (Apply says why).
func (f *FSM) decoderFor(data []byte) (*command, func([]byte) (any, error), bool) {
	if len(data) < 2 {
		return nil, nil, false
	}
	c, ok := commands[MessageType(data[0]).Base()]
	if !ok {
		return nil, nil, false
	}
	dec, ok := c.decoders[data[1]]
	return c, dec, ok
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
