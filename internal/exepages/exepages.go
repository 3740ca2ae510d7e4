package exepages

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Mapping is one read-only mapping of the executable, as smaps shows it.
type Mapping struct {
	Start, End uintptr
	Resident   int64 // bytes mapped in (smaps' Rss)
}

// Result is what Release did.
type Result struct {
	Mappings int   // read-only mappings of the executable found
	Before   int64 // bytes of them resident before
	After    int64 // bytes of them resident just after
}

// Freed is how many bytes of the executable stopped being resident.
func (r Result) Freed() int64 {
	if r.After >= r.Before {
		return 0
	}
	return r.Before - r.After
}

// ParseSmaps reads the text of /proc/PID/smaps and returns the mappings of
// the file exe that can hold no private data: not writable, and with no
// anonymous (copied-on-write) pages. Mappings of other files, anonymous
// mappings and malformed lines other than headers are skipped; a
// malformed header of a mapping of exe is an error.
func ParseSmaps(smaps []byte, exe string) ([]Mapping, error) {
	var out []Mapping
	var cur *Mapping
	keep := false
	flush := func() {
		if cur != nil && keep {
			out = append(out, *cur)
		}
		cur, keep = nil, false
	}
	sc := bufio.NewScanner(bytes.NewReader(smaps))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if !strings.HasSuffix(f[0], ":") {
			// A header: "start-end perms offset dev inode [path]"; the
			// path may hold spaces.
			flush()
			if len(f) < 6 || strings.Join(f[5:], " ") != exe || strings.Contains(f[1], "w") {
				continue
			}
			a, b, ok := strings.Cut(f[0], "-")
			start, err1 := strconv.ParseUint(a, 16, 64)
			end, err2 := strconv.ParseUint(b, 16, 64)
			if !ok || err1 != nil || err2 != nil || end <= start {
				return nil, fmt.Errorf("smaps: mapping of %s: expected start-end in hex, got %q", exe, f[0])
			}
			cur, keep = &Mapping{Start: uintptr(start), End: uintptr(end)}, true
			continue
		}
		if cur == nil || len(f) < 2 {
			continue
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "Rss:":
			cur.Resident = kb << 10
		case "Anonymous:":
			if kb > 0 {
				keep = false
			}
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("smaps: %w", err)
	}
	return out, nil
}
