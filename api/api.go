package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nai-project/nai/structs"
)

// DefaultAddr is where the CLI looks for an agent when NAI_ADDR is unset.
const DefaultAddr = "http://127.0.0.1:4646"

// IndexHeader carries the state index of a read.
const IndexHeader = "X-Nai-Index"

// UserHeader names the submitting account until tokens exist.
const UserHeader = "X-Nai-User"

// Client talks to one nai agent over HTTP.
type Client struct {
	addr string
	http *http.Client
	// User is sent with every request as the acting account.
	User string
}

// NewClient returns a client for addr ("http://host:port"; "host:port" is
// read as http). An empty addr means NAI_ADDR or DefaultAddr.
func NewClient(addr string) (*Client, error) {
	if addr == "" {
		addr = os.Getenv("NAI_ADDR")
	}
	if addr == "" {
		addr = DefaultAddr
	}
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("invalid agent address %q: expected http://host:port", addr)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &Client{addr: strings.TrimRight(addr, "/"), http: &http.Client{Transport: tr}}, nil
}

// Address returns the agent address this client talks to.
func (c *Client) Address() string { return c.addr }

type errorBody struct {
	Error *structs.Error `json:"error"`
}

// do sends a request and decodes a JSON answer into out (when non-nil).
func (c *Client) do(ctx context.Context, method, path string, in, out any) (uint64, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	resp, err := c.raw(ctx, method, path, body, "application/json")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	idx, _ := strconv.ParseUint(resp.Header.Get(IndexHeader), 10, 64)
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return idx, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return idx, nil
}

// raw sends a request and returns the answer when its status is 2xx; any
// other status becomes a *structs.Error rebuilt from the body.
func (c *Client) raw(ctx context.Context, method, path string, body io.Reader, ctype string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.addr+path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if c.User != "" {
		req.Header.Set(UserHeader, c.User)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach nai agent at %s: %w", c.addr, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var eb errorBody
	if json.Unmarshal(b, &eb) == nil && eb.Error != nil {
		return nil, eb.Error
	}
	return nil, structs.NewError(structs.CodeInternal, "%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
}

// IsNotFound reports whether err is a not-found answer.
func IsNotFound(err error) bool { return errors.Is(err, structs.ErrNotFound) }

// Register submits jobs (one, or the members of a sweep).
func (c *Client) Register(ctx context.Context, jobs ...*structs.Job) (*structs.JobRegisterResponse, error) {
	var out structs.JobRegisterResponse
	if _, err := c.do(ctx, http.MethodPut, "/v1/jobs", map[string]any{"jobs": jobs}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Job returns one job and the state index it was read at.
func (c *Client) Job(ctx context.Context, id string) (*structs.Job, uint64, error) {
	var out structs.Job
	idx, err := c.do(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id), nil, &out)
	if err != nil {
		return nil, 0, err
	}
	return &out, idx, nil
}

// WaitJob blocks until the job changes after index (or wait passes) and
// returns it with the new index.
func (c *Client) WaitJob(ctx context.Context, id string, index uint64, wait time.Duration) (*structs.Job, uint64, error) {
	var out structs.Job
	p := fmt.Sprintf("/v1/jobs/%s?index=%d&wait=%s", url.PathEscape(id), index, wait)
	idx, err := c.do(ctx, http.MethodGet, p, nil, &out)
	if err != nil {
		return nil, 0, err
	}
	return &out, idx, nil
}

// Jobs lists jobs; all includes finished ones.
func (c *Client) Jobs(ctx context.Context, all bool) ([]*structs.Job, error) {
	var out []*structs.Job
	_, err := c.do(ctx, http.MethodGet, "/v1/jobs"+allQuery(all), nil, &out)
	return out, err
}

// ArrayJobs lists the members of a sweep (job array), in index order.
func (c *Client) ArrayJobs(ctx context.Context, arrayID string) ([]*structs.Job, error) {
	var out []*structs.Job
	_, err := c.do(ctx, http.MethodGet, "/v1/jobs?array="+url.QueryEscape(arrayID), nil, &out)
	return out, err
}

// Queue lists jobs in the order the scheduler considers them: running jobs,
// then pending ones in priority order; all adds finished jobs.
func (c *Client) Queue(ctx context.Context, all bool) ([]*structs.Job, error) {
	var out []*structs.Job
	_, err := c.do(ctx, http.MethodGet, "/v1/queue"+allQuery(all), nil, &out)
	return out, err
}

func allQuery(all bool) string {
	if all {
		return "?all=true"
	}
	return ""
}

// Cancel stops a job.
func (c *Client) Cancel(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/v1/jobs/"+url.PathEscape(id), nil, nil)
	return err
}

// JobAllocations lists a job's allocations, oldest first.
func (c *Client) JobAllocations(ctx context.Context, id string) ([]*structs.Allocation, error) {
	var out []*structs.Allocation
	_, err := c.do(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id)+"/allocations", nil, &out)
	return out, err
}

// Metrics returns a job's last value of each metric.
func (c *Client) Metrics(ctx context.Context, id string) (*structs.JobMetrics, error) {
	var out structs.JobMetrics
	if _, err := c.do(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id)+"/metrics", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LogOptions choose which log and how to read it.
type LogOptions struct {
	Stderr bool
	Follow bool  // keep the stream open until the job ends
	Offset int64 // start at this byte
}

func (o LogOptions) query() string {
	q := url.Values{}
	if o.Stderr {
		q.Set("type", "stderr")
	} else {
		q.Set("type", "stdout")
	}
	if o.Follow {
		q.Set("follow", "true")
	}
	if o.Offset > 0 {
		q.Set("offset", strconv.FormatInt(o.Offset, 10))
	}
	return q.Encode()
}

// Logs streams a job's stdout or stderr. The caller closes the reader.
func (c *Client) Logs(ctx context.Context, id string, o LogOptions) (io.ReadCloser, error) {
	rc, _, err := c.LogStream(ctx, id, o)
	return rc, err
}

// AllocHeader names the allocation (attempt) whose log a log answer holds.
const AllocHeader = "X-Nai-Alloc"

// LogStream is Logs that also says which allocation the log belongs to, so
// a follower can start again at byte 0 when a requeued job runs anew.
func (c *Client) LogStream(ctx context.Context, id string, o LogOptions) (io.ReadCloser, string, error) {
	resp, err := c.raw(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id)+"/logs?"+o.query(), nil, "")
	if err != nil {
		return nil, "", err
	}
	return resp.Body, resp.Header.Get(AllocHeader), nil
}

// Outputs streams the tar+gzip archive of a job's outputs.
func (c *Client) Outputs(ctx context.Context, id string) (io.ReadCloser, error) {
	resp, err := c.raw(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id)+"/outputs", nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Nodes lists the nodes.
func (c *Client) Nodes(ctx context.Context) ([]*structs.Node, error) {
	var out []*structs.Node
	_, err := c.do(ctx, http.MethodGet, "/v1/nodes", nil, &out)
	return out, err
}

// Node returns one node by id or name, with each GPU's holder filled in.
func (c *Client) Node(ctx context.Context, id string) (*structs.Node, error) {
	var out structs.Node
	if _, err := c.do(ctx, http.MethodGet, "/v1/nodes/"+url.PathEscape(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Leader returns the raft address of the current leader.
func (c *Client) Leader(ctx context.Context) (string, error) {
	var out string
	_, err := c.do(ctx, http.MethodGet, "/v1/status/leader", nil, &out)
	return out, err
}

// --- the client agent's calls ---

// RegisterNode registers or refreshes a node's fingerprint.
func (c *Client) RegisterNode(ctx context.Context, n *structs.Node) error {
	_, err := c.do(ctx, http.MethodPut, "/v1/client/nodes", structs.NodeRegisterRequest{Node: n}, nil)
	return err
}

// NodeAllocations long-polls the allocations placed on a node: it answers
// when the state index passes index, or after wait.
func (c *Client) NodeAllocations(ctx context.Context, nodeID string, index uint64, wait time.Duration) ([]*structs.Allocation, uint64, error) {
	var out []*structs.Allocation
	p := fmt.Sprintf("/v1/client/nodes/%s/allocations?index=%d&wait=%s", url.PathEscape(nodeID), index, wait)
	idx, err := c.do(ctx, http.MethodGet, p, nil, &out)
	return out, idx, err
}

// UpdateAllocs reports allocation status from a client.
func (c *Client) UpdateAllocs(ctx context.Context, nodeID string, updates []*structs.AllocUpdate) error {
	_, err := c.do(ctx, http.MethodPost, "/v1/client/allocations", structs.AllocUpdateRequest{NodeID: nodeID, Updates: updates}, nil)
	return err
}

// OutputInfo describes an uploaded output archive.
type OutputInfo struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

// UploadOutputs streams an allocation's tar+gzip output archive to the servers.
func (c *Client) UploadOutputs(ctx context.Context, allocID string, archive io.Reader) (*OutputInfo, error) {
	resp, err := c.raw(ctx, http.MethodPut, "/v1/client/allocations/"+url.PathEscape(allocID)+"/outputs", archive, "application/gzip")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out OutputInfo
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("upload outputs of %s: decode answer: %w", allocID, err)
	}
	return &out, nil
}

// AllocLogs streams an allocation's log from the agent of the node that
// runs it (the servers use this to answer /v1/jobs/{id}/logs).
func (c *Client) AllocLogs(ctx context.Context, allocID string, o LogOptions) (io.ReadCloser, error) {
	resp, err := c.raw(ctx, http.MethodGet, "/v1/client/allocations/"+url.PathEscape(allocID)+"/logs?"+o.query(), nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// UploadBlob streams content into the servers' blob store (a job's code
// folder as tar+gzip, say) and returns its digest and size.
func (c *Client) UploadBlob(ctx context.Context, r io.Reader) (*OutputInfo, error) {
	resp, err := c.raw(ctx, http.MethodPut, "/v1/blobs", r, "application/octet-stream")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out OutputInfo
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("upload blob: decode answer: %w", err)
	}
	return &out, nil
}

// Blob streams one blob by its sha256 digest. The caller closes it.
func (c *Client) Blob(ctx context.Context, digest string) (io.ReadCloser, error) {
	resp, err := c.raw(ctx, http.MethodGet, "/v1/blobs/"+url.PathEscape(digest), nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// --- the cluster (servers, serf members, raft peers) ---

// AgentMember is one agent of the serf cluster, as GET /v1/agent/members
// lists them.
type AgentMember struct {
	Name            string `json:"name"`
	Addr            string `json:"addr"`   // serf host:port
	Status          string `json:"status"` // alive, leaving, left, failed
	Leader          bool   `json:"leader"` // the raft leader
	Role            string `json:"role"`   // server, client or server,client
	Datacenter      string `json:"datacenter"`
	HTTPAddr        string `json:"http_addr,omitempty"`
	RaftAddr        string `json:"raft_addr,omitempty"`
	NodeID          string `json:"node_id,omitempty"`
	BootstrapExpect int    `json:"bootstrap_expect,omitempty"`
	TagsError       string `json:"tags_error,omitempty"`
}

// RaftPeer is one server of the raft configuration.
type RaftPeer struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Suffrage string `json:"suffrage"` // voter, nonvoter
	Leader   bool   `json:"leader"`
}

// AgentProblem is a condition the operator should fix (a failing join, a
// gossip key mismatch, a duplicate node name, ...).
type AgentProblem struct {
	Kind    string    `json:"kind"`
	Message string    `json:"message"`
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
	Count   int       `json:"count"`
}

// AgentSelf describes the agent answering, as GET /v1/agent/self does.
type AgentSelf struct {
	Name            string         `json:"name"`
	Role            string         `json:"role"`
	Datacenter      string         `json:"datacenter"`
	SerfAddr        string         `json:"serf_addr,omitempty"`
	HTTPAddr        string         `json:"http_addr,omitempty"`
	RaftAddr        string         `json:"raft_addr,omitempty"`
	Encrypted       bool           `json:"encrypted"`
	Leader          bool           `json:"leader"`
	LeaderAddr      string         `json:"leader_addr,omitempty"`
	RaftState       string         `json:"raft_state,omitempty"`
	RaftLastIndex   uint64         `json:"raft_last_index,omitempty"`
	StateIndex      uint64         `json:"state_index,omitempty"`
	ClusterID       string         `json:"cluster_id,omitempty"`
	BootstrapExpect int            `json:"bootstrap_expect,omitempty"`
	AliveMembers    int            `json:"alive_members"`
	Problems        []AgentProblem `json:"problems"`
}

// Members lists every agent of the serf cluster.
func (c *Client) Members(ctx context.Context) ([]AgentMember, error) {
	var out []AgentMember
	_, err := c.do(ctx, http.MethodGet, "/v1/agent/members", nil, &out)
	return out, err
}

// AgentSelf describes the agent this client talks to.
func (c *Client) AgentSelf(ctx context.Context) (*AgentSelf, error) {
	var out AgentSelf
	if _, err := c.do(ctx, http.MethodGet, "/v1/agent/self", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Peers returns the raft addresses of the servers in the raft
// configuration.
func (c *Client) Peers(ctx context.Context) ([]string, error) {
	var out []string
	_, err := c.do(ctx, http.MethodGet, "/v1/status/peers", nil, &out)
	return out, err
}

// RaftConfiguration lists the raft servers with their suffrage and which
// one leads.
func (c *Client) RaftConfiguration(ctx context.Context) ([]RaftPeer, error) {
	var out []RaftPeer
	_, err := c.do(ctx, http.MethodGet, "/v1/operator/raft/configuration", nil, &out)
	return out, err
}

// RemoveRaftPeer removes a server from the raft configuration by its id
// (its node name): the way out of a dead server that will not come back.
func (c *Client) RemoveRaftPeer(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/v1/operator/raft/peer?id="+url.QueryEscape(id), nil, nil)
	return err
}

// ForceLeave marks a failed agent as left in serf, so a server is removed
// from raft and a client's node is not waited for.
func (c *Client) ForceLeave(ctx context.Context, node string) error {
	_, err := c.do(ctx, http.MethodPut, "/v1/agent/force-leave?node="+url.QueryEscape(node), nil, nil)
	return err
}

// PlanJobs is a dry run of Register: where the jobs would start now, or
// why they would wait and until when. Nothing is submitted.
func (c *Client) PlanJobs(ctx context.Context, jobs ...*structs.Job) (*structs.JobPlanResponse, error) {
	var out structs.JobPlanResponse
	if _, err := c.do(ctx, http.MethodPost, "/v1/jobs/plan", map[string]any{"jobs": jobs}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// InjectGPUFault injects a fault ("2:xid=79", "1:lost", "0:ecc=3") into a
// fake GPU of the dev agent at this client's address (POST
// /v1/client/dev/gpu-fault). Agents with real GPUs answer not found.
func (c *Client) InjectGPUFault(ctx context.Context, fault string) error {
	_, err := c.do(ctx, http.MethodPost, "/v1/client/dev/gpu-fault", map[string]string{"fault": fault}, nil)
	return err
}

// --- datasets, models and resumable blob uploads ---

func artifactPath(kind structs.ArtifactKind) string {
	if kind == structs.KindModel {
		return "/v1/models"
	}
	return "/v1/datasets"
}

// PushArtifact records a new version of a dataset or model whose content
// (req.Digest) was uploaded first, or (datasets) a path on every client.
// Pushing the latest version's content again creates nothing.
func (c *Client) PushArtifact(ctx context.Context, kind structs.ArtifactKind, name string, req *structs.ArtifactPushRequest) (*structs.ArtifactPushResponse, error) {
	var out structs.ArtifactPushResponse
	if _, err := c.do(ctx, http.MethodPut, artifactPath(kind)+"/"+url.PathEscape(name), req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Artifacts lists the datasets or models.
func (c *Client) Artifacts(ctx context.Context, kind structs.ArtifactKind) ([]*structs.Artifact, error) {
	var out []*structs.Artifact
	_, err := c.do(ctx, http.MethodGet, artifactPath(kind), nil, &out)
	return out, err
}

// Artifact returns one dataset or model with all its versions, each with
// the jobs that read it.
func (c *Client) Artifact(ctx context.Context, kind structs.ArtifactKind, name string) (*structs.Artifact, error) {
	var out structs.Artifact
	if _, err := c.do(ctx, http.MethodGet, artifactPath(kind)+"/"+url.PathEscape(name), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteArtifactVersion removes one version; the servers refuse while a
// pending or running job reads it.
func (c *Client) DeleteArtifactVersion(ctx context.Context, kind structs.ArtifactKind, name string, version int) error {
	_, err := c.do(ctx, http.MethodDelete, fmt.Sprintf("%s/%s/versions/%d", artifactPath(kind), url.PathEscape(name), version), nil, nil)
	return err
}

// MetricsHistory returns a job's last metric values and every line it
// wrote to NAI_METRICS_FILE (kept once the job has ended).
func (c *Client) MetricsHistory(ctx context.Context, id string) (*structs.JobMetrics, error) {
	var out structs.JobMetrics
	if _, err := c.do(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id)+"/metrics?all=true", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// HasBlob reports whether the servers hold a blob, so unchanged content is
// not uploaded twice.
func (c *Client) HasBlob(ctx context.Context, digest string) (bool, error) {
	// A HEAD answer has no body to carry the error, so the status decides.
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, c.addr+"/v1/blobs/"+url.PathEscape(digest), nil)
	if err != nil {
		return false, fmt.Errorf("check blob: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false, fmt.Errorf("cannot reach nai agent at %s: %w", c.addr, err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2:
		return true, nil
	case resp.StatusCode == http.StatusNotFound:
		return false, nil
	}
	return false, structs.NewError(structs.CodeInternal, "HEAD /v1/blobs/%s: %s", digest, resp.Status)
}

// UploadSession is a resumable upload's state on the servers.
type UploadSession struct {
	ID     string `json:"id"`
	Offset int64  `json:"offset"`
}

// StartUpload opens a resumable upload session.
func (c *Client) StartUpload(ctx context.Context) (*UploadSession, error) {
	var out UploadSession
	if _, err := c.do(ctx, http.MethodPost, "/v1/blobs/uploads", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UploadOffset asks how many bytes a session holds (where to resume).
func (c *Client) UploadOffset(ctx context.Context, id string) (int64, error) {
	var out UploadSession
	_, err := c.do(ctx, http.MethodGet, "/v1/blobs/uploads/"+url.PathEscape(id), nil, &out)
	return out.Offset, err
}

// UploadChunk sends n bytes of r as the part of the session that starts at
// start and returns the session's new size.
func (c *Client) UploadChunk(ctx context.Context, id string, start int64, r io.Reader, n int64) (int64, error) {
	p := "/v1/blobs/uploads/" + url.PathEscape(id)
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, c.addr+p, io.LimitReader(r, n))
	if err != nil {
		return 0, fmt.Errorf("upload chunk: %w", err)
	}
	req.ContentLength = n
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/*", start, start+n-1))
	if c.User != "" {
		req.Header.Set(UserHeader, c.User)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("cannot reach nai agent at %s: %w", c.addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var eb errorBody
		if json.Unmarshal(b, &eb) == nil && eb.Error != nil {
			return 0, eb.Error
		}
		return 0, structs.NewError(structs.CodeInternal, "PATCH %s: %s", p, resp.Status)
	}
	var out UploadSession
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, fmt.Errorf("upload chunk: decode answer: %w", err)
	}
	return out.Offset, nil
}

// CommitUpload makes a session's content a blob once its sha256 matches
// digest.
func (c *Client) CommitUpload(ctx context.Context, id, digest string) (*OutputInfo, error) {
	var out OutputInfo
	p := "/v1/blobs/uploads/" + url.PathEscape(id) + "?digest=" + url.QueryEscape(digest)
	if _, err := c.do(ctx, http.MethodPut, p, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DefaultChunkSize is what UploadFile sends per request.
const DefaultChunkSize = int64(64) << 20

// UploadFile uploads a file whose sha256 is digest through a resumable
// session, in chunks; after a failed chunk it asks the servers how far they
// got and goes on from there (up to retries times in a row). A blob the
// servers already hold is not sent again.
func (c *Client) UploadFile(ctx context.Context, f io.ReaderAt, size int64, digest string, chunk int64, retries int) (*OutputInfo, error) {
	if ok, err := c.HasBlob(ctx, digest); err != nil {
		return nil, err
	} else if ok {
		return &OutputInfo{Digest: digest, Size: size}, nil
	}
	if chunk <= 0 {
		chunk = DefaultChunkSize
	}
	sess, err := c.StartUpload(ctx)
	if err != nil {
		return nil, err
	}
	off, failures := int64(0), 0
	for off < size {
		n := min(chunk, size-off)
		got, err := c.UploadChunk(ctx, sess.ID, off, io.NewSectionReader(f, off, n), n)
		if err == nil {
			off, failures = got, 0
			continue
		}
		if ctx.Err() != nil || errors.Is(err, structs.ErrNotFound) || failures >= retries {
			return nil, fmt.Errorf("upload %s at byte %d: %w", digest, off, err)
		}
		failures++
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(failures) * 200 * time.Millisecond):
		}
		if got, oerr := c.UploadOffset(ctx, sess.ID); oerr == nil {
			off = got
		}
	}
	return c.CommitUpload(ctx, sess.ID, digest)
}

// DrainNode starts, changes or cancels a node's drain (structs/node_drain.go)
// and returns the node as it is afterwards. id is a node id, a unique prefix
// of one, or a node name.
func (c *Client) DrainNode(ctx context.Context, id string, spec *structs.NodeDrainSpec) (*structs.Node, error) {
	var out structs.Node
	if _, err := c.do(ctx, http.MethodPost, "/v1/nodes/"+url.PathEscape(id)+"/drain", spec, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetNodeEligibility marks a node eligible for new work or not and returns
// the node as it is afterwards. A draining node is refused (ErrConflict).
func (c *Client) SetNodeEligibility(ctx context.Context, id string, eligible bool) (*structs.Node, error) {
	var out structs.Node
	spec := &structs.NodeEligibilitySpec{Eligible: eligible}
	if _, err := c.do(ctx, http.MethodPost, "/v1/nodes/"+url.PathEscape(id)+"/eligibility", spec, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Blobs lists every blob the servers know, with the servers holding it,
// what references it and how many copies are wanted; under-replicated
// blobs come first (GET /v1/operator/blobs).
func (c *Client) Blobs(ctx context.Context) ([]*structs.Blob, error) {
	var out []*structs.Blob
	_, err := c.do(ctx, http.MethodGet, "/v1/operator/blobs", nil, &out)
	return out, err
}
