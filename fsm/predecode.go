package fsm

import (
	"sync"
	"unsafe"
)

// PredecodeMin is the smallest entry worth decoding ahead (Predecode):
// below it the goroutine costs more than the decode saves.
const PredecodeMin = 16 << 10

// predecoded is an entry being decoded ahead of Apply.
type predecoded struct {
	data []byte
	done chan struct{}
	req  any
	err  error
}

// Predecode decodes data, a raft entry this server is about to propose,
// in a goroutine of its own while raft commits it (the fsync, the
// followers' acks), so that the leader's Apply of it does not decode it
// again: a 1000-member sweep's entry takes about 2 ms to decode, all of
// it on the path of the submitter's answer, and on the one goroutine that
// applies every entry. Apply takes the result only for the very same
// bytes (the slice raft was given, which it hands back to the leader's
// Apply unchanged), and decoding is a function of those bytes alone, so
// the state is what decoding them again would give: followers and a
// replay decode as ever. release forgets the entry; call it once the
// write is answered, whatever the answer.
func (f *FSM) Predecode(data []byte) (release func()) {
	if len(data) < PredecodeMin {
		return func() {}
	}
	p := &predecoded{data: data, done: make(chan struct{})}
	key := unsafe.SliceData(data)
	f.pre.Store(key, p)
	go func() {
		defer close(p.done)
		if c, dec, ok := f.decoderFor(data); ok && c != nil {
			p.req, p.err = dec(data[2:])
			// And what applying it will need, such as a sweep's
			// members: a function of the request alone too.
			if pr, ok := p.req.(preparer); ok && p.err == nil {
				pr.Prepare()
			}
		} else {
			p.err = errNoPredecode
		}
	}()
	return func() { f.pre.CompareAndDelete(key, p) }
}

// preparer is a request that can do ahead what applying it will need.
type preparer interface{ Prepare() }

// takePredecoded returns what Predecode made of data, if it was asked to.
func (f *FSM) takePredecoded(data []byte) (req any, err error, ok bool) {
	v, found := f.pre.LoadAndDelete(unsafe.SliceData(data))
	if !found {
		return nil, nil, false
	}
	p := v.(*predecoded)
	if len(p.data) != len(data) {
		return nil, nil, false
	}
	<-p.done
	if p.err == errNoPredecode {
		return nil, nil, false
	}
	f.preHits.Add(1)
	return p.req, p.err, true
}

// preMap is the type of FSM.pre: entries being decoded ahead, by the
// address of their first byte.
type preMap = sync.Map

// errNoPredecode marks an entry Predecode could not find a decoder for:
// Apply then treats it as ever (skips or stops, and says why).
var errNoPredecode = errPredecode("no decoder")

type errPredecode string

func (e errPredecode) Error() string { return string(e) }
