package server

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/nai-project/nai/internal/metricline"
	"github.com/nai-project/nai/structs"
)

// A running job's metric history lives in its allocation's
// NAI_METRICS_FILE on the node; it becomes a blob only when the job ends.
// GET /v1/jobs/{id}/metrics?all=true reads it from the node while the job
// runs, so a chart can grow with the job: the server asks the client
// agent (GET /v1/client/allocations/{id}/metrics) with the caller's own
// token, and the client agent asks the servers whether that caller may
// read the job's data, as it does for logs.

// historyFrom reads ?from=N: the first history line to answer.
func historyFrom(r *http.Request) (int, error) {
	v := r.URL.Query().Get("from")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, structs.NewError(structs.CodeInvalid, "from %q is not a line number of 0 or more", v)
	}
	return n, nil
}

// liveMetricsHistory reads the history of a running job from its node.
func (s *Server) liveMetricsHistory(r *request, j *structs.Job) (*metricHistory, error) {
	a, err := r.snap.AllocByID(nil, j.AllocID)
	if err != nil || a == nil {
		return nil, structs.NewError(structs.CodeNotFound, "allocation %s of job %s not found", j.AllocID, j.ID)
	}
	target, err := s.nodeURL(a)
	if err != nil {
		return nil, err
	}
	target.Path = "/v1/client/allocations/" + url.PathEscape(a.ID) + "/metrics"
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, target.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("metrics of job %s: %w", j.ID, err)
	}
	if h := r.Header.Get("Authorization"); h != "" {
		req.Header.Set("Authorization", h)
	}
	// A client node holds a client certificate: the transport to nodes,
	// not the one to servers, which requires a server's.
	resp, err := (&http.Client{Transport: s.httpTransport}).Do(req)
	if err != nil {
		return nil, structs.NewError(structs.CodeUnavailable, "cannot reach node %s for the metrics of job %s: %v", a.NodeName, j.ID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var body structs.ErrorBody
		if json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body) == nil && body.Error != nil {
			return nil, body.Error
		}
		return nil, structs.NewError(structs.CodeUnavailable, "node %s answered %s for the metrics of job %s", a.NodeName, resp.Status, j.ID)
	}
	return parseHistory(resp.Body, j.ID)
}

// metricHistory is what a metrics file says: its JSON object lines, in
// order, each valid JSON (a bare NaN, Infinity or -Infinity quoted), the
// count of lines that were not JSON, and the keys whose last value is not
// a finite number.
type metricHistory struct {
	lines     []json.RawMessage
	skipped   int
	nonFinite map[string]structs.NonFiniteMetric
}

// parseHistory reads a metrics file (metricline).
func parseHistory(r io.Reader, jobID string) (*metricHistory, error) {
	var sc metricline.Scanner
	out := &metricHistory{}
	in := bufio.NewScanner(r)
	in.Buffer(make([]byte, 64<<10), 1<<20)
	for in.Scan() && len(out.lines) < maxHistoryLines {
		if l := sc.Add(in.Bytes()); l != nil {
			out.lines = append(out.lines, json.RawMessage(slices.Clone(l.JSON)))
		}
	}
	// A line longer than any metrics line ends the history there.
	if err := in.Err(); err != nil && !errors.Is(err, bufio.ErrTooLong) {
		return nil, fmt.Errorf("metric history of job %s: %w", jobID, err)
	}
	out.skipped, out.nonFinite = sc.Skipped(), sc.NonFinite()
	return out, nil
}

// nodeURL is the base URL of the agent of the node an allocation runs on.
func (s *Server) nodeURL(a *structs.Allocation) (*url.URL, error) {
	n, err := s.State().Snapshot().NodeByID(nil, a.NodeID)
	if err != nil || n == nil || n.HTTPAddr == "" {
		return nil, structs.NewError(structs.CodeUnavailable, "node %s of allocation %s is unknown or has no address", a.NodeName, a.ID)
	}
	target, err := url.Parse(n.HTTPAddr)
	if err != nil || target.Host == "" {
		if target, err = url.Parse("http://" + n.HTTPAddr); err != nil {
			return nil, fmt.Errorf("node %s has a bad address %q: %w", n.Name, n.HTTPAddr, err)
		}
	}
	if s.tls != nil {
		target.Scheme = "https"
	}
	return &url.URL{Scheme: target.Scheme, Host: target.Host}, nil
}
