package client

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"os"
)

// Bounds that keep a runaway metrics file from costing the agent memory or
// the servers space.
const (
	maxMetricLine = 1 << 20
	maxMetricKeys = 512
)

// metricsTail reads NAI_METRICS_FILE incrementally: each line is a JSON
// object, and the last numeric value of each key is kept. Bad lines are
// skipped; a line without its newline yet waits for the next read.
type metricsTail struct {
	path    string
	off     int64
	partial []byte
	last    map[string]float64
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

func (m *metricsTail) parse(line []byte) bool {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return false
	}
	var obj map[string]any
	if json.Unmarshal(line, &obj) != nil {
		return false
	}
	changed := false
	for k, v := range obj {
		f, ok := v.(float64)
		if !ok || k == "" {
			continue
		}
		old, had := m.last[k]
		if !had && len(m.last) >= maxMetricKeys {
			continue
		}
		if !had || old != f {
			m.last[k] = f
			changed = true
		}
	}
	return changed
}

// values returns a copy of the last value of each key, nil when none.
func (m *metricsTail) values() map[string]float64 {
	if len(m.last) == 0 {
		return nil
	}
	return maps.Clone(m.last)
}
