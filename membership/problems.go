package membership

import (
	"slices"
	"sync"
	"time"
)

// Problem kinds: what an operator is told about in `nai agent-info`.
const (
	ProblemJoin         = "join"            // no join address answered
	ProblemEncrypt      = "encrypt"         // gossip key mismatch with a peer
	ProblemNameConflict = "name-conflict"   // another agent uses this node name
	ProblemTags         = "tags"            // a member gossips tags we cannot read
	ProblemBootstrap    = "bootstrap"       // servers disagree on bootstrap_expect, or wait for peers
	ProblemCluster      = "cluster"         // this data dir belongs to another cluster
	ProblemStopped      = "serf-stopped"    // serf shut itself down (lost a name conflict)
	ProblemUnproven     = "unproven-server" // a member tagged server failed the leader's raft identity check
)

// Problem is one condition an operator should fix. The same kind and
// message are counted, not repeated.
type Problem struct {
	Kind    string    `json:"kind"`
	Message string    `json:"message"`
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
	Count   int       `json:"count"`
}

// Problems is a small, bounded, concurrency-safe record of problems.
type Problems struct {
	mu    sync.Mutex
	items []Problem
}

// maxProblems bounds the record: an agent retrying a bad join for days
// must not grow without end.
const maxProblems = 32

// Report records a problem, or counts it again when it is already known.
func (p *Problems) Report(kind, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now().UTC()
	for i := range p.items {
		if p.items[i].Kind == kind && p.items[i].Message == msg {
			p.items[i].Last = now
			p.items[i].Count++
			return
		}
	}
	if len(p.items) == maxProblems {
		p.items = p.items[1:]
	}
	p.items = append(p.items, Problem{Kind: kind, Message: msg, First: now, Last: now, Count: 1})
}

// Set makes msg the one problem of its kind, keeping its first time when
// it is unchanged. It reports whether the problem is new, so callers that
// re-check a condition every second log it once.
func (p *Problems) Set(kind, msg string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now().UTC()
	for i := range p.items {
		if p.items[i].Kind == kind && p.items[i].Message == msg {
			p.items[i].Last = now
			p.items[i].Count++
			p.items = slices.DeleteFunc(p.items, func(x Problem) bool { return x.Kind == kind && x.Message != msg })
			return false
		}
	}
	p.items = slices.DeleteFunc(p.items, func(x Problem) bool { return x.Kind == kind })
	if len(p.items) == maxProblems {
		p.items = p.items[1:]
	}
	p.items = append(p.items, Problem{Kind: kind, Message: msg, First: now, Last: now, Count: 1})
	return true
}

// Resolve forgets every problem of a kind (the join finally worked).
func (p *Problems) Resolve(kind string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.items = slices.DeleteFunc(p.items, func(x Problem) bool { return x.Kind == kind })
}

// List returns the current problems, oldest first.
func (p *Problems) List() []Problem {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.items)
}
