package executor

import (
	"encoding/json"
	"math"
	"strconv"
)

// marshalExit is json.MarshalIndent(st, "", "  ") written out by hand,
// byte for byte the same (TestMarshalExit compares them): encoding/json
// builds its encoders for ExitStatus and ResourceUsage by reflection the
// first time, and an executor writes exit.json once in its life, so it
// paid for that every job (perf: MarshalIndent 2.9 % of an executor's CPU
// in a drain of short jobs). Strings and times still go through their own
// encoders; a value encoding/json would refuse (a non-finite float) takes
// the general path, which reports it.
func marshalExit(st *ExitStatus) ([]byte, error) {
	if u := st.Usage; u != nil && (math.IsNaN(u.CPUSeconds) || math.IsInf(u.CPUSeconds, 0)) {
		return json.MarshalIndent(st, "", "  ")
	}
	b := make([]byte, 0, 256)
	b = append(b, "{\n  \"exit_code\": "...)
	if st.ExitCode == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, int64(*st.ExitCode), 10)
	}
	var err error
	str := func(key, v string) {
		if err != nil {
			return
		}
		var q []byte
		if q, err = json.Marshal(v); err == nil {
			b = append(append(append(append(b, ",\n  \""...), key...), "\": "...), q...)
		}
	}
	str("reason", string(st.Reason))
	if st.Message != "" {
		str("message", st.Message)
	}
	tm := func(key string, t interface{ MarshalJSON() ([]byte, error) }) {
		if err != nil {
			return
		}
		var q []byte
		if q, err = t.MarshalJSON(); err == nil {
			b = append(append(append(append(b, ",\n  \""...), key...), "\": "...), q...)
		}
	}
	if !st.StartTime.IsZero() {
		tm("start_time", st.StartTime)
	}
	tm("end_time", st.EndTime)
	if err != nil {
		// What encoding/json says of it (a year outside 0-9999, ...).
		return json.MarshalIndent(st, "", "  ")
	}
	if u := st.Usage; u != nil {
		b = append(b, ",\n  \"usage\": {\n    \"cpu_seconds\": "...)
		b = appendJSONFloat(b, u.CPUSeconds)
		b = append(b, ",\n    \"max_memory_bytes\": "...)
		b = strconv.AppendInt(b, u.MaxMemoryBytes, 10)
		if u.OOMKills != 0 {
			b = append(b, ",\n    \"oom_kills\": "...)
			b = strconv.AppendInt(b, int64(u.OOMKills), 10)
		}
		b = append(b, "\n  }"...)
	}
	return append(b, "\n}"...), nil
}

// appendJSONFloat formats a finite float64 as encoding/json does: like
// ES6, 'f' unless the exponent is very small or large, and e-7 not e-07.
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
