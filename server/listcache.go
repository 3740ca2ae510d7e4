package server

import (
	"bufio"
	"encoding/json"
	"io"
	"sync"

	"github.com/nai-project/nai/structs"
)

// Job listings (GET /v1/queue) and nodes' allocation long-polls reuse each
// object's JSON from one answer to the next. The state never changes a job
// or an allocation in place: a change stores a new copy, so a pointer names
// one version of it and its encoding stays right for as long as that
// version lives. Encoding thousands of jobs for every `nai queue` was most
// of a listing's time, and a busy node's long-poll answered every live
// allocation of the node, with its job, after each change of any of them.

// encKind is one way of writing a job.
type encKind uint8

const (
	encCompact      encKind = iota // the job, as the API writes it
	encPretty                      // indented as an element of an indented list (what the CLI prints with -json)
	encRow                         // its queue row (structs.JobRow)
	encAllocWithJob                // an allocation with its job, as a node's long-poll answers it
)

type encKey struct {
	// obj is the object written, with the object it is written with (an
	// allocation's job), both as the state holds them.
	obj, with any
	kind      encKind
}

// minEncCache is the fewest encodings kept before the cache rotates.
const minEncCache = 4096

// jobEncodings caches encodings in two generations: lookups promote from
// the old one, and when the current one outgrows a few times the largest
// recent listing it becomes the old one and the old one is dropped, so
// versions that no listing asks for any more are forgotten.
type jobEncodings struct {
	mu       sync.Mutex
	cur, old map[encKey][]byte
	limit    int
}

// reset forgets every encoding, and with them the jobs and allocations
// they name (after a large job GC, which would otherwise leave up to two
// generations of them alive until listings push them out).
func (c *jobEncodings) reset() {
	c.mu.Lock()
	c.cur, c.old = nil, nil
	c.mu.Unlock()
}

func (c *jobEncodings) get(j *structs.Job, k encKind) []byte {
	return c.lookup(encKey{obj: j, kind: k}, func() []byte { return encodeJob(j, k) })
}

// alloc is the JSON of an allocation with its job attached.
func (c *jobEncodings) alloc(a *structs.Allocation, j *structs.Job) []byte {
	return c.lookup(encKey{obj: a, with: j, kind: encAllocWithJob}, func() []byte { return encodeAlloc(a, j) })
}

func encodeAlloc(a *structs.Allocation, j *structs.Job) []byte {
	ac := a.Copy()
	ac.Job = j
	b, err := json.Marshal(ac)
	if err != nil {
		return []byte("null")
	}
	return b
}

func (c *jobEncodings) lookup(key encKey, encode func() []byte) []byte {
	c.mu.Lock()
	b, ok := c.cur[key]
	if !ok {
		if b, ok = c.old[key]; ok {
			if c.cur == nil {
				c.cur = map[encKey][]byte{}
			}
			c.cur[key] = b
		}
	}
	c.mu.Unlock()
	if ok {
		return b
	}
	b = encode()
	c.mu.Lock()
	if c.cur == nil {
		c.cur = map[encKey][]byte{}
	}
	c.cur[key] = b
	if len(c.cur) > max(c.limit, minEncCache) {
		c.old, c.cur = c.cur, make(map[encKey][]byte, len(c.cur))
	}
	c.mu.Unlock()
	return b
}

func encodeJob(j *structs.Job, k encKind) []byte {
	var v any = j
	if k == encRow {
		r := j.Row()
		v = &r
	}
	var b []byte
	var err error
	if k == encPretty {
		b, err = json.MarshalIndent(v, "  ", "  ")
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		// A job is plain data; this cannot happen. Write null rather
		// than a broken document.
		return []byte("null")
	}
	return b
}

// writeList writes jobs as one JSON array and a newline, as writeJSON would
// (compact), or as json.MarshalIndent(jobs, "", "  ") would (pretty).
func (c *jobEncodings) writeList(w io.Writer, jobs []*structs.Job, k encKind) error {
	c.mu.Lock()
	c.limit = max(c.limit, 3*len(jobs))
	c.mu.Unlock()
	bw := bufio.NewWriterSize(w, 64<<10)
	if len(jobs) == 0 {
		bw.WriteString("[]\n")
		return bw.Flush()
	}
	open, sep, end := "[", ",", "]\n"
	if k == encPretty {
		open, sep, end = "[\n  ", ",\n  ", "\n]\n"
	}
	bw.WriteString(open)
	for i, j := range jobs {
		if i > 0 {
			bw.WriteString(sep)
		}
		bw.Write(c.get(j, k))
	}
	bw.WriteString(end)
	return bw.Flush()
}
