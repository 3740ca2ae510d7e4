package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nai-project/nai/structs"
)

// Register submits jobs (one, or the members of a sweep).
func (c *Client) Register(ctx context.Context, jobs ...*structs.Job) (*structs.JobRegisterResponse, error) {
	var out structs.JobRegisterResponse
	if _, err := c.do(ctx, http.MethodPut, "/v1/jobs", map[string]any{"jobs": jobs}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RegisterSweep submits a sweep as one spec, which the servers expand into
// its members: a few bytes a member where Register sends each member's
// whole job. A server too old to read a spec refuses the body; the members
// are then sent written out.
func (c *Client) RegisterSweep(ctx context.Context, spec *structs.SweepSpec) (*structs.JobRegisterResponse, error) {
	var out structs.JobRegisterResponse
	// The spec writes itself in one pass (a thousand members); json.Marshal
	// of a map holding it would check and copy those bytes once more.
	enc, err := spec.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode sweep: %w", err)
	}
	body := append(append([]byte(`{"sweep":`), enc...), '}')
	_, err = c.do(ctx, http.MethodPut, "/v1/jobs", rawJSON(body), &out)
	if err != nil && structs.CodeOf(err) == structs.CodeInvalid && strings.Contains(err.Error(), `unknown field "sweep"`) {
		jobs, xerr := spec.Expand()
		if xerr != nil {
			return nil, xerr
		}
		return c.Register(ctx, jobs...)
	}
	if err != nil {
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

// Cancel stops a job, or every member of the sweep with that id.
func (c *Client) Cancel(ctx context.Context, id string) error {
	_, err := c.CancelJob(ctx, id, false)
	return err
}

// CancelOnly stops the job with that id alone, even when it is member 0
// of a sweep (whose id is the sweep's).
func (c *Client) CancelOnly(ctx context.Context, id string) error {
	_, err := c.CancelJob(ctx, id, true)
	return err
}

// CancelJob is Cancel (only false) or CancelOnly (only true) with the
// servers' answer: the jobs cancelled and those that had already ended.
// An agent of an earlier release answers neither list.
func (c *Client) CancelJob(ctx context.Context, id string, only bool) (*structs.JobCancelResponse, error) {
	path := "/v1/jobs/" + url.PathEscape(id)
	if only {
		path += "?only=true"
	}
	var out structs.JobCancelResponse
	if _, err := c.do(ctx, http.MethodDelete, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// JobAllocations lists a job's allocations, oldest first.
func (c *Client) JobAllocations(ctx context.Context, id string) ([]*structs.Allocation, error) {
	var out []*structs.Allocation
	_, err := c.do(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id)+"/allocations", nil, &out)
	return out, err
}

// Metrics returns a job's last value of each metric, and the metrics whose
// last value is NaN or ±Infinity as the job keeps them (raft log format 7).
func (c *Client) Metrics(ctx context.Context, id string) (*structs.JobMetrics, error) {
	var out structs.JobMetrics
	if _, err := c.do(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id)+"/metrics", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// MetricsChecked is Metrics with the metrics whose last value is NaN or
// ±Infinity and the count of lines that were not JSON (?check=true). The
// servers answer from the job when its client counted them (raft log
// format 7), else from a read of the history; a history they cannot read
// leaves those out.
func (c *Client) MetricsChecked(ctx context.Context, id string) (*structs.JobMetrics, error) {
	var out structs.JobMetrics
	if _, err := c.do(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id)+"/metrics?check=true", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LogOptions choose which log and how to read it.
type LogOptions struct {
	Stderr bool
	Follow bool  // keep the stream open until the job ends
	Offset int64 // start at this byte; negative: this many bytes before the end
	// Alloc reads one allocation of the job (a service's replica, an
	// earlier attempt) instead of its current one.
	Alloc string
	// Rank, when set, reads that rank's allocation of a job on several
	// nodes (of its current attempt) rather than the job's, rank 0's.
	Rank *int
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
	if o.Offset != 0 {
		q.Set("offset", strconv.FormatInt(o.Offset, 10))
	}
	if o.Alloc != "" {
		q.Set("alloc", o.Alloc)
	}
	if o.Rank != nil {
		q.Set("rank", strconv.Itoa(*o.Rank))
	}
	return q.Encode()
}

// Logs streams a job's stdout or stderr. The caller closes the reader.
func (c *Client) Logs(ctx context.Context, id string, o LogOptions) (io.ReadCloser, error) {
	rc, _, err := c.LogStream(ctx, id, o)
	return rc, err
}

// LogStream is Logs that also says which allocation the log belongs to, so
// a follower can start again at byte 0 when a requeued job runs anew.
func (c *Client) LogStream(ctx context.Context, id string, o LogOptions) (io.ReadCloser, string, error) {
	resp, err := c.raw(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id)+"/logs?"+o.query(), nil, "")
	if err != nil {
		return nil, "", err
	}
	return resp.Body, resp.Header.Get(AllocHeader), nil
}

// LogInfo is what a log answer says of itself.
type LogInfo struct {
	Alloc  string // the allocation the log is of ("" when the job has none yet)
	Offset int64  // the byte of the log the answer starts at
	Size   int64  // the log's size when the answer began
}

// LogRead is LogStream that also says where in the log the answer starts
// and how large the log was: with a negative Offset, the last bytes of
// a log, without reading all of it.
func (c *Client) LogRead(ctx context.Context, id string, o LogOptions) (io.ReadCloser, LogInfo, error) {
	resp, err := c.raw(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id)+"/logs?"+o.query(), nil, "")
	if err != nil {
		return nil, LogInfo{}, err
	}
	info := LogInfo{Alloc: resp.Header.Get(AllocHeader)}
	info.Offset, _ = strconv.ParseInt(resp.Header.Get(structs.OffsetHeader), 10, 64)
	info.Size, _ = strconv.ParseInt(resp.Header.Get(structs.SizeHeader), 10, 64)
	return resp.Body, info, nil
}

// Outputs streams the tar+gzip archive of a job's outputs (a job on
// several nodes: its rank 0's).
func (c *Client) Outputs(ctx context.Context, id string) (io.ReadCloser, error) {
	resp, err := c.raw(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id)+"/outputs", nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// RankOutputs streams the tar+gzip archive of the outputs of one rank of a
// job on several nodes, of its current attempt.
func (c *Client) RankOutputs(ctx context.Context, id string, rank int) (io.ReadCloser, error) {
	resp, err := c.raw(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id)+"/outputs?rank="+strconv.Itoa(rank), nil, "")
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

// PlanJobs is a dry run of Register: where the jobs would start now, or
// why they would wait and until when. Nothing is submitted.
func (c *Client) PlanJobs(ctx context.Context, jobs ...*structs.Job) (*structs.JobPlanResponse, error) {
	var out structs.JobPlanResponse
	if _, err := c.do(ctx, http.MethodPost, "/v1/jobs/plan", map[string]any{"jobs": jobs}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
