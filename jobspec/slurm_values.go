package jobspec

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nai-project/nai/structs"
)

// The value syntaxes of sbatch's options, each a pure function that returns
// the value or an error saying what was expected. The errors are the
// detail of a diagnostic that already names the option.

// parseSlurmTime reads --time: "MM", "MM:SS", "HH:MM:SS", "D-HH",
// "D-HH:MM", "D-HH:MM:SS", or UNLIMITED / INFINITE / 0 for no limit (0).
func parseSlurmTime(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a Slurm time: expected minutes (\"90\"), MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS (\"1-12:00:00\") or UNLIMITED", s)
	switch strings.ToUpper(s) {
	case "UNLIMITED", "INFINITE":
		return 0, nil
	}
	days := int64(0)
	rest := s
	hasDays := false
	if d, r, ok := strings.Cut(s, "-"); ok {
		n, err := slurmInt(d)
		if err != nil {
			return 0, bad
		}
		days, rest, hasDays = n, r, true
	}
	parts := strings.Split(rest, ":")
	nums := make([]int64, len(parts))
	for i, p := range parts {
		n, err := slurmInt(p)
		if err != nil {
			return 0, bad
		}
		nums[i] = n
	}
	var h, m, sec int64
	switch {
	case hasDays && len(nums) == 1: // D-HH
		h = nums[0]
	case hasDays && len(nums) == 2: // D-HH:MM
		h, m = nums[0], nums[1]
	case hasDays && len(nums) == 3: // D-HH:MM:SS
		h, m, sec = nums[0], nums[1], nums[2]
	case len(nums) == 1: // MM
		m = nums[0]
	case len(nums) == 2: // MM:SS
		m, sec = nums[0], nums[1]
	case len(nums) == 3: // HH:MM:SS
		h, m, sec = nums[0], nums[1], nums[2]
	default:
		return 0, bad
	}
	total := ((days*24+h)*60+m)*60 + sec // slurmInt caps each part, so this cannot overflow
	d := time.Duration(total) * time.Second
	if d > structs.MaxTimeLimit {
		return 0, fmt.Errorf("%s is longer than nai's limit of %d days", s, structs.MaxTimeLimit/(24*time.Hour))
	}
	return d, nil
}

// slurmInt reads a non-negative decimal of at most 9 digits, so that sums
// of them cannot overflow.
func slurmInt(s string) (int64, error) {
	if s == "" || len(s) > 9 {
		return 0, errors.New("not a number")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("not a number")
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

// parseSlurmMem reads a Slurm memory size: a whole number with an optional
// unit K, M, G or T (binary, so 4G is 4 GiB); no unit means megabytes
// (MiB), as in Slurm. The units are structs.ParseSize's, the one table a
// job file and -mem read too.
func parseSlurmMem(s string) (int64, error) {
	bad := fmt.Errorf("%q is not a Slurm memory size: expected megabytes (\"4000\") or a whole number with a unit K, M, G or T (\"16G\": 16 GiB)", s)
	num, unit := s, "M"
	if n := len(s); n > 0 && strings.ContainsRune("KkMmGgTt", rune(s[n-1])) {
		num, unit = s[:n-1], s[n-1:]
	}
	n, err := slurmInt(num)
	if err != nil {
		return 0, bad
	}
	one, err := structs.ParseSize("1" + unit)
	if err != nil {
		return 0, bad
	}
	if n > structs.MaxMemory/one {
		return 0, fmt.Errorf("%s is more than nai's limit of %s", s, structs.FormatSize(structs.MaxMemory))
	}
	return n * one, nil
}

// gpuSpec is a GPU count with an optional type, as in --gpus=a100:2.
type gpuSpec struct {
	model string
	count int
}

// parseGPUSpec reads "[type:]N" (--gpus, --gpus-per-node, --gpus-per-task).
func parseGPUSpec(s string) (gpuSpec, error) {
	model, num, found := strings.Cut(s, ":")
	if !found {
		model, num = "", s
	}
	n, err := slurmInt(num)
	if err != nil || strings.Contains(num, ":") || (found && model == "") {
		return gpuSpec{}, fmt.Errorf("%q is not a GPU count: expected N or TYPE:N, such as 2 or a100:2", s)
	}
	if n > structs.MaxGPUsPerNode*structs.MaxNodesPerJob {
		return gpuSpec{}, fmt.Errorf("%s GPUs is more than any cluster has", num)
	}
	return gpuSpec{model: model, count: int(n)}, nil
}

// parseGres reads --gres: a comma-separated list of NAME[:TYPE][:COUNT]
// (COUNT defaults to 1). It returns the GPU part and the names of any other
// resources, which nai does not have.
func parseGres(s string) (gpu *gpuSpec, others []string, err error) {
	if strings.EqualFold(s, "none") {
		return nil, nil, nil
	}
	for _, item := range strings.Split(s, ",") {
		// "gpu:a100:2(S:0-1)" names sockets; nai does not place by socket.
		if i := strings.IndexByte(item, '('); i >= 0 {
			item = item[:i]
		}
		item = strings.TrimPrefix(item, "gres/")
		f := strings.Split(item, ":")
		if f[0] == "" {
			return nil, nil, fmt.Errorf("%q is not a gres list: expected NAME[:TYPE][:COUNT] items such as gpu:2 or gpu:a100:2", s)
		}
		if f[0] != "gpu" {
			others = append(others, f[0])
			continue
		}
		g := gpuSpec{count: 1}
		switch len(f) {
		case 1:
		case 2:
			if n, err := slurmInt(f[1]); err == nil {
				g.count = int(n)
			} else {
				g.model = f[1]
			}
		case 3:
			n, err := slurmInt(f[2])
			if err != nil || f[1] == "" {
				return nil, nil, fmt.Errorf("%q: %q is not a GPU request: expected gpu:COUNT or gpu:TYPE:COUNT, such as gpu:a100:2", s, item)
			}
			g.model, g.count = f[1], int(n)
		default:
			return nil, nil, fmt.Errorf("%q: %q is not a GPU request: expected gpu:COUNT or gpu:TYPE:COUNT, such as gpu:a100:2", s, item)
		}
		if gpu != nil {
			return nil, nil, fmt.Errorf("%q names gpu twice", s)
		}
		if g.count > structs.MaxGPUsPerNode {
			return nil, nil, fmt.Errorf("%d GPUs per node is more than nai's limit of %d", g.count, structs.MaxGPUsPerNode)
		}
		gpu = &g
	}
	return gpu, others, nil
}

// parseNodes reads --nodes: "N" or "MIN-MAX". nai runs a job on exactly
// one count of nodes, so a range gives its minimum (ranged reports that).
func parseNodes(s string) (n int, ranged bool, err error) {
	bad := fmt.Errorf("%q is not a node count: expected a number such as 2 (or a range such as 2-4)", s)
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := slurmInt(lo)
	if err != nil {
		return 0, false, bad
	}
	if isRange {
		b, err := slurmInt(hi)
		if err != nil {
			return 0, false, bad
		}
		if b < a {
			return 0, false, fmt.Errorf("%q runs backwards: expected MIN-MAX with MIN at most MAX", s)
		}
	}
	if a < 1 || a > structs.MaxNodesPerJob {
		return 0, false, fmt.Errorf("%s nodes is out of range: expected 1 to %d", lo, structs.MaxNodesPerJob)
	}
	return int(a), isRange, nil
}

// parseCount reads a positive whole number no larger than hi.
func parseCount(s string, hi int) (int, error) {
	n, err := slurmInt(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q is not a count: expected a whole number from 1 to %d", s, hi)
	}
	if n > int64(hi) {
		return 0, fmt.Errorf("%s is more than nai's limit of %d", s, hi)
	}
	return int(n), nil
}

// arraySpec is a parsed --array: the task ids in increasing order and the
// limit on how many run at once (0: none).
type arraySpec struct {
	ids         []int
	maxParallel int
}

// maxArrayIndex bounds array task ids (Slurm's own hard limit is 4000000).
const maxArrayIndex = 4000000

// parseArray reads --array: comma-separated ids and ranges START-END[:STEP],
// then an optional %MAX, as in 0-15:4%2 or 1,3,5. Ids listed twice count
// once, as in Slurm.
func parseArray(s string) (arraySpec, error) {
	spec := arraySpec{}
	list := s
	if l, p, found := strings.Cut(s, "%"); found {
		n, err := slurmInt(p)
		if err != nil || n < 1 {
			return spec, fmt.Errorf("%q: %%%s is not a limit: expected %%N with N at least 1, such as 0-15%%4 (at most 4 at once)", s, p)
		}
		list, spec.maxParallel = l, int(min(n, MaxSweepJobs))
	}
	if list == "" {
		return spec, fmt.Errorf("%q names no task ids: expected ids and ranges such as 0-15, 1,3,5 or 0-15:4%%2", s)
	}
	type rng struct{ lo, hi, step int64 }
	var ranges []rng
	total := int64(0)
	for _, item := range strings.Split(list, ",") {
		r := rng{step: 1}
		body, step, hasStep := strings.Cut(item, ":")
		lo, hi, isRange := strings.Cut(body, "-")
		var err error
		if r.lo, err = slurmInt(lo); err != nil {
			return spec, fmt.Errorf("%q: %q is not a task id or range: expected N, START-END or START-END:STEP with whole numbers, such as 0-15:4", s, item)
		}
		r.hi = r.lo
		if isRange {
			if r.hi, err = slurmInt(hi); err != nil {
				return spec, fmt.Errorf("%q: %q is not a task id or range: expected N, START-END or START-END:STEP with whole numbers, such as 0-15:4", s, item)
			}
			if r.hi < r.lo {
				return spec, fmt.Errorf("the range %s runs backwards: expected START-END with START at most END, such as %s-%s", body, hi, lo)
			}
		}
		if hasStep {
			if !isRange {
				return spec, fmt.Errorf("%q: a step goes with a range, as in 0-15:4", item)
			}
			if r.step, err = slurmInt(step); err != nil || r.step < 1 {
				return spec, fmt.Errorf("%q: step %q is not a whole number of at least 1", item, step)
			}
		}
		if r.hi > maxArrayIndex {
			return spec, fmt.Errorf("task id %d is larger than the limit of %d", r.hi, maxArrayIndex)
		}
		total += (r.hi-r.lo)/r.step + 1
		if total > MaxSweepJobs {
			return spec, fmt.Errorf("%q makes more than %d jobs, nai's limit for one array", s, MaxSweepJobs)
		}
		ranges = append(ranges, r)
	}
	for _, r := range ranges {
		for i := r.lo; i <= r.hi; i += r.step {
			spec.ids = append(spec.ids, int(i))
		}
	}
	slices.Sort(spec.ids)
	spec.ids = slices.Compact(spec.ids)
	return spec, nil
}

// ParseDependency reads sbatch's --dependency, as `#SBATCH -d` and
// `nai job run -dependency` take it: TYPE:ID[:ID...] items joined by ','
// (all must hold), and "singleton". nai honours afterok, afterany and
// afternotok; a dependency it cannot honour is an error rather than a
// warning, since dropping it would start the job too early.
func ParseDependency(s string) (deps []structs.Dependency, singleton bool, err error) {
	if strings.Contains(s, "?") {
		return nil, false, fmt.Errorf("%q: '?' (any one of these) is not supported: nai waits for every dependency, so list them with ','", s)
	}
	for _, item := range strings.Split(s, ",") {
		if item == "singleton" {
			singleton = true
			continue
		}
		typ, ids, found := strings.Cut(item, ":")
		switch typ {
		case string(structs.AfterOK), string(structs.AfterAny), string(structs.AfterNotOK):
		case "after":
			return nil, false, fmt.Errorf("%q: nai cannot start a job when another starts; afterany:ID waits until it ends", item)
		case "aftercorr":
			return nil, false, fmt.Errorf("%q: aftercorr (member to member between arrays) is not supported; afterok:ID waits for the whole array", item)
		case "afterburstbuffer", "expand":
			return nil, false, fmt.Errorf("%q: %s dependencies are not supported", item, typ)
		default:
			err := fmt.Errorf("%q is not a dependency: expected afterok:ID, afterany:ID, afternotok:ID or singleton", item)
			// didYouMean's sentence ran on after "singleton" with no stop.
			if best := closestName(typ, []string{"afterok", "afterany", "afternotok", "singleton"}); best != "" {
				err = fmt.Errorf("%w (did you mean %q?)", err, best)
			}
			return nil, false, err
		}
		if !found || ids == "" {
			return nil, false, fmt.Errorf("%q names no job: expected %s:ID[:ID...], such as %s:12", item, typ, typ)
		}
		for _, id := range strings.Split(ids, ":") {
			if strings.Contains(id, "+") {
				return nil, false, fmt.Errorf("%q: a delay after a dependency (+MINUTES) is not supported", item)
			}
			if !jobIDRE().MatchString(id) {
				return nil, false, fmt.Errorf("%q: %q is not a job id: expected a number such as 12, or an array member such as 12_3", item, id)
			}
			deps = append(deps, structs.Dependency{Type: structs.DependencyType(typ), JobID: id})
		}
	}
	return deps, singleton, nil
}

// beginUnits are the units of --begin=now+N (seconds by default).
var beginUnits = map[string]time.Duration{
	"": time.Second, "s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
	"w": 7 * 24 * time.Hour, "week": 7 * 24 * time.Hour, "weeks": 7 * 24 * time.Hour,
}

// beginNamed are the times of day --begin knows by name.
var beginNamed = map[string]int{"midnight": 0, "noon": 12, "elevenses": 11, "fika": 15, "teatime": 16}

// parseBegin reads --begin: now[+N[unit]], HH:MM[:SS] (the next time the
// clock shows it), midnight, noon, teatime, today, tomorrow, or
// YYYY-MM-DD[THH:MM[:SS]], in now's time zone. rel is the delay for
// now+N, so a converted job file can keep it relative.
func parseBegin(s string, now time.Time) (t time.Time, rel time.Duration, isRel bool, err error) {
	bad := fmt.Errorf("%q is not a begin time: expected now+N[seconds|minutes|hours|days|weeks], HH:MM[:SS], midnight, noon, teatime, today, tomorrow or YYYY-MM-DD[THH:MM[:SS]]", s)
	low := strings.ToLower(s)
	loc := now.Location()
	day := func(offset int) time.Time {
		y, m, d := now.Date()
		return time.Date(y, m, d+offset, 0, 0, 0, 0, loc)
	}
	next := func(h, m, sec int) time.Time {
		t := day(0).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second)
		if t.Before(now) {
			t = t.AddDate(0, 0, 1)
		}
		return t
	}
	switch {
	case low == "now":
		return now, 0, true, nil
	case strings.HasPrefix(low, "now+"):
		rest := low[len("now+"):]
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		n, nerr := slurmInt(rest[:i])
		unit, ok := beginUnits[rest[i:]]
		if nerr != nil || !ok {
			return time.Time{}, 0, false, bad
		}
		d := time.Duration(n) * unit
		if n > int64(structs.MaxTimeLimit/unit) {
			return time.Time{}, 0, false, fmt.Errorf("%s is further away than nai's limit of %d days", s, structs.MaxTimeLimit/(24*time.Hour))
		}
		return now.Add(d), d, true, nil
	case low == "today":
		return day(0), 0, false, nil
	case low == "tomorrow":
		return day(1), 0, false, nil
	}
	if h, ok := beginNamed[low]; ok {
		return next(h, 0, 0), 0, false, nil
	}
	for _, layout := range []string{"15:04", "15:04:05"} {
		if t, perr := time.ParseInLocation(layout, s, loc); perr == nil {
			return next(t.Hour(), t.Minute(), t.Second()), 0, false, nil
		}
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, perr := time.ParseInLocation(layout, s, loc); perr == nil {
			if t.Sub(now) > structs.MaxTimeLimit {
				return time.Time{}, 0, false, fmt.Errorf("%s is further away than nai's limit of %d days", s, structs.MaxTimeLimit/(24*time.Hour))
			}
			return t, 0, false, nil
		}
	}
	return time.Time{}, 0, false, bad
}

// qosPriority maps the usual Slurm QOS names to nai's priority tiers (nai
// has no QOS of its own: a queue's policy plus a job's priority decide).
// scavenger also makes the job preemptible, as a scavenger QOS does.
var qosPriority = map[string]struct {
	priority    int
	preemptible bool
}{
	"scavenger": {10, true},
	"low":       {25, false},
	"normal":    {structs.DefaultPriority, false},
	"high":      {75, false},
	"urgent":    {90, false},
}

// qosNames lists qosPriority's names from the lowest tier up, for messages.
var qosNames = []string{"scavenger", "low", "normal", "high", "urgent"}

// sanitizeName turns a Slurm job name into a nai name: characters nai does
// not allow become '-', and the name starts with a letter or digit.
func sanitizeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '-'
		}
	}
	out := strings.TrimLeft(string(b), "._-")
	if len(out) > structs.MaxNameLen {
		out = out[:structs.MaxNameLen]
	}
	if out == "" {
		return "sbatch"
	}
	return out
}

// ceilDiv is a/b rounded up, for positive b.
func ceilDiv(a, b int) int { return (a + b - 1) / b }

// mulFits reports whether a*b stays within limit (both non-negative).
func mulFits(a, b, limit int64) bool {
	return a == 0 || b <= limit/a
}
