package main

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/structs"
)

// lowerIsBetter names the metrics where smaller is better; any other
// metric (accuracy, reward, F1, throughput) is better larger.
var lowerIsBetter = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)(loss|err|perplexity|ppl|mse|mae|rmse|nll|wer|cer|latency|time|seconds)`)
})

// metricSort is the -sort of `nai job metrics ARRAY`.
type metricSort struct {
	key string
	asc bool
}

// parseMetricSort reads KEY, KEY:asc or KEY:desc.
func parseMetricSort(s string) (*metricSort, error) {
	if s == "" {
		return nil, nil
	}
	key, dir, hasDir := strings.Cut(s, ":")
	if key == "" {
		return nil, fmt.Errorf("-sort %q: expected a metric name, such as loss or accuracy:desc", s)
	}
	ms := &metricSort{key: key, asc: lowerIsBetter().MatchString(key)}
	if hasDir {
		switch strings.ToLower(dir) {
		case "asc":
			ms.asc = true
		case "desc":
			ms.asc = false
		default:
			return nil, fmt.Errorf("-sort %q: the order after the colon is asc or desc", s)
		}
	}
	return ms, nil
}

// memberMetrics is one row of the comparison (and of its JSON).
type memberMetrics struct {
	Member  string             `json:"member"`
	JobID   string             `json:"job_id"`
	Status  structs.JobStatus  `json:"status"`
	Values  map[string]string  `json:"sweep_values,omitempty"`
	Metrics map[string]float64 `json:"metrics"`
	// NonFinite is each metric whose last value is NaN, Infinity or
	// -Infinity (the member diverged), which Metrics leaves out.
	NonFinite map[string]structs.NonFiniteMetric `json:"non_finite,omitempty"`
}

// has reports whether the member reported metric k, finite or not.
func (r memberMetrics) has(k string) bool {
	if _, ok := r.Metrics[k]; ok {
		return true
	}
	_, ok := r.NonFinite[k]
	return ok
}

// arrayMetrics compares the members of a sweep side by side: one row per
// member with its sweep values and the last value of every metric, best
// first by -sort.
func arrayMetrics(c *cli.Context, cl *api.Client, arrayID string) error {
	ms, err := parseMetricSort(c.String("sort"))
	if err != nil {
		return &usageError{msg: err.Error(), usage: usageLine(c)}
	}
	members, err := cl.ArrayJobs(c.Context, arrayID)
	if err != nil {
		return err
	}
	rows := make([]memberMetrics, 0, len(members))
	for _, m := range members {
		rows = append(rows, memberMetrics{Member: m.ArrayRef(), JobID: m.ID,
			Status: m.Status, Values: m.SweepValues, Metrics: orEmptyMap(m.Metrics), NonFinite: m.NonFiniteMetrics})
	}
	if ms != nil {
		if !slices.ContainsFunc(rows, func(r memberMetrics) bool { return r.has(ms.key) }) {
			return fmt.Errorf("no member of array %s has reported %q (metrics: %s)", arrayID, ms.key, strings.Join(metricKeys(rows), ", "))
		}
		sortMembers(rows, ms)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, rows)
	}
	return formatMemberMetrics(c.App.Writer, rows, ms)
}

func orEmptyMap(m map[string]float64) map[string]float64 {
	if m == nil {
		return map[string]float64{}
	}
	return m
}

// sortMembers orders rows best first; members whose metric is not finite
// (they diverged) come after those with a value, and members without the
// metric go last, in index order.
func sortMembers(rows []memberMetrics, ms *metricSort) {
	rank := func(r memberMetrics) int {
		if _, ok := r.Metrics[ms.key]; ok {
			return 0
		}
		if r.has(ms.key) {
			return 1
		}
		return 2
	}
	slices.SortStableFunc(rows, func(a, b memberMetrics) int {
		if ra, rb := rank(a), rank(b); ra != rb || ra > 0 {
			return cmp.Compare(ra, rb)
		}
		va, oka := a.Metrics[ms.key]
		vb, okb := b.Metrics[ms.key]
		switch {
		case oka && !okb:
			return -1
		case !oka && okb:
			return 1
		case !oka && !okb:
			return 0
		case ms.asc:
			return cmp.Compare(va, vb)
		}
		return cmp.Compare(vb, va)
	})
}

func metricKeys(rows []memberMetrics) []string {
	keys := map[string]bool{}
	for _, r := range rows {
		for k := range r.Metrics {
			keys[k] = true
		}
		for k := range r.NonFinite {
			keys[k] = true
		}
	}
	return slices.Sorted(maps.Keys(keys))
}

func formatMemberMetrics(w io.Writer, rows []memberMetrics, ms *metricSort) error {
	keys := metricKeys(rows)
	if ms != nil {
		// The sort key comes first, after the member's own columns.
		keys = append([]string{ms.key}, slices.DeleteFunc(keys, func(k string) bool { return k == ms.key })...)
	}
	var valueKeys []string
	for _, r := range rows {
		for k := range r.Values {
			if !slices.Contains(valueKeys, k) {
				valueKeys = append(valueKeys, k)
			}
		}
	}
	slices.Sort(valueKeys)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := []string{"MEMBER", "STATE"}
	for _, k := range valueKeys {
		head = append(head, strings.ToUpper(k))
	}
	for _, k := range keys {
		h := k
		if ms != nil && k == ms.key {
			if ms.asc {
				h += " (lowest first)"
			} else {
				h += " (highest first)"
			}
		}
		head = append(head, h)
	}
	for i := range head {
		head[i] = jobtext.Printable(head[i]) // sweep keys and metric names are the user's
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range rows {
		cells := []string{r.Member, string(r.Status)}
		for _, k := range valueKeys {
			cells = append(cells, jobtext.OrDash(jobtext.Printable(r.Values[k])))
		}
		for _, k := range keys {
			v, ok := r.Metrics[k]
			if nf, diverged := r.NonFinite[k]; diverged && !ok {
				cells = append(cells, nf.Value) // NaN, Infinity or -Infinity
				continue
			}
			if !ok {
				cells = append(cells, "-")
				continue
			}
			cells = append(cells, formatFloat(v))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}
