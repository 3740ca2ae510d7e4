package client

import (
	"bytes"
	"io"
	"log/slog"
	"maps"
	"os"

	"github.com/nai-project/nai/internal/metricline"
	"github.com/nai-project/nai/structs"
)

// Bounds that keep a runaway metrics file from costing the agent memory or
// the servers space.
const (
	maxMetricLine = 1 << 20
	maxMetricKeys = 512
)

// metricsTail reads NAI_METRICS_FILE incrementally: each line is a JSON
// object, and the last numeric value of each key is kept. NaN, Infinity
// and -Infinity, as Python writes them, are accepted (metricline): such a
// value cannot be a float64 in the replicated metrics, so its key leaves
// the last values (an earlier finite one would mislead), is logged, and is
// reported beside them with where it diverged (nonFiniteValues). Lines
// that are not JSON are counted (reported too: counts) and logged, not
// kept; a line without its newline yet waits for the next read.
type metricsTail struct {
	path    string
	off     int64
	partial []byte
	last    map[string]float64
	// logger, when set, hears of non-finite values and non-JSON lines.
	logger *slog.Logger
	// line counts the lines read; skipped those that were not JSON.
	line, skipped int
	// nonFinite is each key whose last value is not finite: that value,
	// and where it stopped being finite (as metricline.Scanner says it),
	// reported beside the last values (ClientStatusFields.NonFinite).
	nonFinite map[string]structs.NonFiniteMetric
}

func newMetricsTail(path string) *metricsTail {
	return &metricsTail{path: path, last: map[string]float64{}}
}

// read consumes what was appended since the last call; final also takes a
// trailing line that has no newline. It reports whether a value changed.
func (m *metricsTail) read(final bool) bool {
	f, err := os.Open(m.path)
	if err != nil {
		return false
	}
	defer f.Close()
	if _, err := f.Seek(m.off, io.SeekStart); err != nil {
		return false
	}
	changed := false
	buf := make([]byte, 64<<10)
	for {
		n, err := f.Read(buf)
		m.off += int64(n)
		data := buf[:n]
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				if len(m.partial)+len(data) <= maxMetricLine {
					m.partial = append(m.partial, data...)
				} else {
					m.partial = m.partial[:0] // too long to be a metrics line
				}
				break
			}
			line := data[:i]
			if len(m.partial) > 0 {
				line = append(m.partial, line...)
				m.partial = m.partial[:0]
			}
			changed = m.parse(line) || changed
			data = data[i+1:]
		}
		if err != nil || n == 0 {
			break
		}
	}
	if final && len(m.partial) > 0 {
		changed = m.parse(m.partial) || changed
		m.partial = nil
	}
	return changed
}

func (m *metricsTail) parse(raw []byte) bool {
	m.line++
	l, err := metricline.Parse(raw)
	if err != nil {
		m.skipped++ // reported (counts): the servers keep the count
		if m.skipped == 1 && m.logger != nil {
			// The first one says what kind; the count comes at the end.
			m.logger.Warn("a line of NAI_METRICS_FILE is not a JSON object; skipped", "line", m.line, "text", clip(raw, 80))
		}
		return true
	}
	if l == nil {
		return false
	}
	changed := false
	for k, f := range l.Values {
		old, had := m.last[k]
		if !had && len(m.last) >= maxMetricKeys {
			continue
		}
		delete(m.nonFinite, k)
		if !had || old != f {
			m.last[k] = f
			changed = true
		}
	}
	for k, v := range l.NonFinite {
		_, had := m.last[k]
		if had {
			delete(m.last, k)
			changed = true
		}
		old, ok := m.nonFinite[k]
		if ok && old.Value == v {
			continue
		}
		switch {
		case ok:
			// Not finite since an earlier line: where it diverged
			// stays; the value is the newest.
			old.Value = v
			m.nonFinite[k] = old
		case !had && len(m.last)+len(m.nonFinite) >= maxMetricKeys:
			continue
		default:
			nf := structs.NonFiniteMetric{Value: v, First: v, Line: m.line}
			if st, ok := l.Values["step"]; ok {
				nf.Step = &st
			}
			if m.nonFinite == nil {
				m.nonFinite = map[string]structs.NonFiniteMetric{}
			}
			m.nonFinite[k] = nf
		}
		changed = true
		if m.logger != nil {
			args := []any{"metric", k, "value", v, "line", m.line}
			if st, ok := l.Values["step"]; ok {
				args = append(args, "step", st)
			}
			m.logger.Warn("metric is not a finite number", args...)
		}
	}
	return changed
}

// clip is at most n bytes of b, for a log line.
func clip(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// counts is the count of lines that were not JSON objects, and whether
// the file was read at all (ClientStatusFields.MetricsSkipped and
// MetricsCounted).
func (m *metricsTail) counts() (skipped int, counted bool) {
	return m.skipped, m.line > 0
}

// nonFiniteValues returns a copy of the keys whose last value is not
// finite, nil when none.
func (m *metricsTail) nonFiniteValues() map[string]structs.NonFiniteMetric {
	return structs.CloneNonFinite(m.nonFinite)
}

// values returns a copy of the last value of each key, nil when none.
func (m *metricsTail) values() map[string]float64 {
	if len(m.last) == 0 {
		return nil
	}
	return maps.Clone(m.last)
}
