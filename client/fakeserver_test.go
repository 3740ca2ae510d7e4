package client

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

// fakeServers stands in for the servers' /v1/client routes: an in-memory
// table of allocations with a state index and blocking queries, recording
// every report and upload.
type fakeServers struct {
	t  testing.TB
	mu sync.Mutex
	// changed is closed and replaced whenever index moves.
	changed chan struct{}
	index   uint64
	allocs  map[string]*structs.Allocation
	nodes   []*structs.Node
	updates []*structs.AllocUpdate
	uploads map[string][]byte
	srv     *httptest.Server
	// failRegisters and failUploads answer that many requests with 503,
	// as servers without a leader would.
	failRegisters, failUploads int
	// refuseUploads answers every upload with 400: refused for good.
	refuseUploads bool
	// diskRecovered counts the nodes' disk-recovered calls.
	diskRecovered int
	// polls counts the nodes' allocation long-polls (a client polls once
	// it has registered and recovered its allocations).
	polls int
	// strict refuses reports of allocations the table lacks, as the
	// servers do (404).
	strict bool
}

func newFakeServers(t testing.TB) *fakeServers {
	f := &fakeServers{t: t, changed: make(chan struct{}), index: 1,
		allocs: map[string]*structs.Allocation{}, uploads: map[string][]byte{}}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /v1/client/nodes", f.registerNode)
	mux.HandleFunc("GET /v1/client/nodes/{id}/allocations", f.nodeAllocs)
	mux.HandleFunc("POST /v1/client/allocations", f.updateAllocs)
	mux.HandleFunc("PUT /v1/client/allocations/{id}/outputs", f.upload)
	mux.HandleFunc("POST /v1/client/nodes/{id}/disk-recovered", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.diskRecovered++
		f.mu.Unlock()
		writeJSON(w, 0, structs.Node{ID: r.PathValue("id"), Eligible: true})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeServers) api(t testing.TB) *api.Client {
	c, err := api.NewClient(f.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// bumpLocked moves the index and wakes blocked queries.
func (f *fakeServers) bumpLocked() {
	f.index++
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeServers) put(a *structs.Allocation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bumpLocked()
	a.CreateIndex, a.ModifyIndex = f.index, f.index
	f.allocs[a.ID] = a
}

func (f *fakeServers) modify(id string, fn func(a *structs.Allocation)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bumpLocked()
	fn(f.allocs[id])
	f.allocs[id].ModifyIndex = f.index
}

func (f *fakeServers) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bumpLocked()
	delete(f.allocs, id)
}

// restoreBack stands for a snapshot restore: the table loses the
// allocations drop, and the index goes back to before the newest of them.
func (f *fakeServers) restoreBack(drop ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	back := f.index
	for _, id := range drop {
		if a, ok := f.allocs[id]; ok {
			back = min(back, a.CreateIndex-1)
			delete(f.allocs, id)
		}
	}
	f.index = back
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeServers) status(id string) structs.ClientStatusFields {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a, ok := f.allocs[id]; ok {
		return a.ClientStatus.Copy()
	}
	return structs.ClientStatusFields{}
}

// reports returns every report received for an allocation, in order.
func (f *fakeServers) reports(id string) []structs.ClientStatusFields {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []structs.ClientStatusFields
	for _, u := range f.updates {
		if u.AllocID == id {
			out = append(out, u.Client)
		}
	}
	return out
}

func (f *fakeServers) terminal(id string) bool { return f.status(id).Status.Terminal() }

func writeJSON(w http.ResponseWriter, idx uint64, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(api.IndexHeader, strconv.FormatUint(idx, 10))
	_ = json.NewEncoder(w).Encode(v)
}

// failing reports whether to refuse this request, counting it down.
func (f *fakeServers) failing(n *int, w http.ResponseWriter) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if *n <= 0 {
		return false
	}
	*n--
	writeError(w, http.StatusServiceUnavailable, structs.NewError(structs.CodeUnavailable, "no leader"))
	return true
}

func (f *fakeServers) registerNode(w http.ResponseWriter, r *http.Request) {
	if f.failing(&f.failRegisters, w) {
		return
	}
	var req structs.NodeRegisterRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Node == nil {
		writeError(w, http.StatusBadRequest, structs.NewError(structs.CodeInvalid, "bad node"))
		return
	}
	f.mu.Lock()
	f.nodes = append(f.nodes, req.Node)
	f.mu.Unlock()
	writeJSON(w, 0, map[string]any{})
}

func (f *fakeServers) nodeAllocs(w http.ResponseWriter, r *http.Request) {
	node := r.PathValue("id")
	f.mu.Lock()
	f.polls++
	f.mu.Unlock()
	index, _ := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
	wait, _ := time.ParseDuration(r.URL.Query().Get("wait"))
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		f.mu.Lock()
		idx, ch := f.index, f.changed
		// An index behind the one asked from: the state was restored
		// (restoreBack), and the answer comes at once.
		if idx > index || idx < index {
			var out []*structs.Allocation
			for _, a := range f.allocs {
				if a.NodeID == node {
					c := a.Copy()
					c.Job = a.Job
					out = append(out, c)
				}
			}
			f.mu.Unlock()
			writeJSON(w, idx, out)
			return
		}
		f.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			writeJSON(w, idx, []*structs.Allocation{})
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (f *fakeServers) updateAllocs(w http.ResponseWriter, r *http.Request) {
	var req structs.AllocUpdateRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, structs.NewError(structs.CodeInvalid, "bad update: %v", err))
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range req.Updates {
		if _, ok := f.allocs[u.AllocID]; f.strict && !ok {
			writeError(w, http.StatusNotFound, structs.NewError(structs.CodeNotFound, "update allocs: alloc %q not found on node %q", u.AllocID, req.NodeID))
			return
		}
	}
	for _, u := range req.Updates {
		f.updates = append(f.updates, u)
		if a, ok := f.allocs[u.AllocID]; ok && !a.Terminal() {
			a.ClientStatus = u.Client
		}
	}
	f.bumpLocked()
	writeJSON(w, f.index, map[string]any{})
}

func (f *fakeServers) upload(w http.ResponseWriter, r *http.Request) {
	if f.failing(&f.failUploads, w) {
		return
	}
	f.mu.Lock()
	refuse := f.refuseUploads
	f.mu.Unlock()
	if refuse {
		writeError(w, http.StatusBadRequest, structs.NewError(structs.CodeInvalid, "outputs refused"))
		return
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, structs.NewError(structs.CodeInvalid, "read body: %v", err))
		return
	}
	sum := sha256.Sum256(b)
	f.mu.Lock()
	f.uploads[r.PathValue("id")] = b
	f.mu.Unlock()
	writeJSON(w, 0, structs.BlobInfo{Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(b))})
}

// polled says whether a node has long-polled its allocations yet.
func (f *fakeServers) polled() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.polls > 0
}
