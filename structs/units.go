package structs

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration that travels in JSON as a Go duration string
// ("1h30m0s"). It also accepts a JSON number, read as nanoseconds, so that a
// plain time.Duration marshalled elsewhere still decodes.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as a string such as "30m0s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			*d = 0
			return nil
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q: expected a Go duration such as \"90s\" or \"2h30m\"", s)
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("invalid duration %s: expected a string such as \"90s\" or nanoseconds", b)
	}
	*d = Duration(n)
	return nil
}

// sizeUnits is the one table of size units every path reads (job files,
// #SBATCH --mem, -mem flags, agent configuration), case-insensitive. The
// one-letter units are binary, as in Slurm (--mem=4G is 4 GiB), so that
// memory = "4G" in a job file means what it means in a batch script; a
// unit that spells out B is decimal (GB: 10^9), one with an i binary (GiB).
var sizeUnits = map[string]float64{
	"":    1,
	"b":   1,
	"k":   1 << 10,
	"kb":  1e3,
	"m":   1 << 20,
	"mb":  1e6,
	"g":   1 << 30,
	"gb":  1e9,
	"t":   1 << 40,
	"tb":  1e12,
	"ki":  1 << 10,
	"kib": 1 << 10,
	"mi":  1 << 20,
	"mib": 1 << 20,
	"gi":  1 << 30,
	"gib": 1 << 30,
	"ti":  1 << 40,
	"tib": 1 << 40,
}

// MaxSize is the largest size ParseSize accepts (1 EiB): anything larger is
// a typo, not a machine.
const MaxSize = int64(1) << 60

// ParseSize reads a size with an optional unit: "512MiB", "40GiB", "1.5TB",
// "16G", "1024" (bytes). Units are case-insensitive: decimal (kB, MB, GB,
// TB), binary (KiB, MiB, GiB, TiB), and Slurm's one-letter K, M, G, T,
// which are binary (see sizeUnits).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("invalid size %q: expected a number with a unit such as \"512MiB\" or \"40GiB\"", s)
	}
	i := 0
	for i < len(t) && (t[i] == '.' || t[i] == '-' || t[i] == '+' || (t[i] >= '0' && t[i] <= '9')) {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := sizeUnits[unit]
	if !ok {
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (expected B, KiB, MiB, GiB, TiB, kB, MB, GB, TB, or K, M, G, T: 1024-based, as in Slurm)", s, t[i:])
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("invalid size %q: expected a number with a unit such as \"512MiB\"", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("invalid size %q: must not be negative", s)
	}
	b := v * mult
	if b > float64(MaxSize) {
		return 0, fmt.Errorf("invalid size %q: larger than the 1 EiB limit", s)
	}
	return int64(math.Round(b)), nil
}

// FormatSize prints bytes with the largest binary unit that keeps the value
// at or above 1, for humans ("4GiB", "1.5GiB", "512MiB").
func FormatSize(b int64) string {
	units := []struct {
		name string
		size float64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}
	for _, u := range units {
		if float64(b) >= u.size {
			v := float64(b) / u.size
			return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) + u.name
		}
	}
	return strconv.FormatInt(b, 10) + "B"
}
