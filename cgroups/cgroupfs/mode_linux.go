package cgroupfs

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Mode reports the host's cgroup version: 2 for the unified hierarchy,
// 1 for legacy and hybrid hosts (a hybrid host keeps its controllers on
// the v1 hierarchies; its v2 mount is only used for process tracking).
// It looks at the filesystem type of /sys/fs/cgroup, as containerd's
// cgroups.Mode does.
func Mode() (int, error) {
	return modeOf(func(path string) (int64, error) {
		var st unix.Statfs_t
		if err := unix.Statfs(path, &st); err != nil {
			return 0, err
		}
		return int64(st.Type), nil
	})
}

const cgroupRoot = "/sys/fs/cgroup"

// modeOf decides the mode from the filesystem types statfs reports:
// cgroup2 at /sys/fs/cgroup is unified (2); anything else mounted there
// is legacy or hybrid (1); nothing there is an error.
func modeOf(statfs func(path string) (int64, error)) (int, error) {
	typ, err := statfs(cgroupRoot)
	if err != nil {
		return 0, fmt.Errorf("detect cgroup mode: no cgroup filesystem mounted at %s: %w", cgroupRoot, err)
	}
	if typ == unix.CGROUP2_SUPER_MAGIC {
		return 2, nil
	}
	return 1, nil
}

// outsideNai maps a cgroup path inside a nai tree back to the parent the
// tree hangs from, so that the executor and the exec shim, which run
// inside <parent>/nai/..., resolve the same default parent as the agent.
func outsideNai(p string) string {
	if p == "/nai" || strings.HasPrefix(p, "/nai/") {
		return "/"
	}
	if i := strings.Index(p, "/nai/"); i >= 0 {
		return p[:i]
	}
	return strings.TrimSuffix(p, "/nai")
}

// mount is one cgroup filesystem from /proc/self/mountinfo.
type mount struct {
	Root        string   // the cgroup mounted at Mountpoint
	Mountpoint  string   // e.g. /sys/fs/cgroup/memory
	Controllers []string // v1 only: memory, cpu, ...; empty for cgroup2
	V2          bool
}

// relative turns a cgroup path from /proc/self/cgroup into a path
// relative to this mount (they differ inside cgroup namespaces).
func (m mount) relative(cgPath string) (string, error) {
	rel, err := filepath.Rel(m.Root, cgPath)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("cgroup %q is not visible under the mount at %s (root %s)", cgPath, m.Mountpoint, m.Root)
	}
	return filepath.Join("/", rel), nil
}

type mounts []mount

func (ms mounts) unified() (mount, bool) {
	for _, m := range ms {
		if m.V2 {
			return m, true
		}
	}
	return mount{}, false
}

// controller finds the v1 hierarchy carrying controller c.
func (ms mounts) controller(c string) (mount, bool) {
	for _, m := range ms {
		for _, mc := range m.Controllers {
			if mc == c {
				return m, true
			}
		}
	}
	return mount{}, false
}

func readMountinfo(path string) (mounts, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	defer f.Close()
	ms, err := parseMountinfo(f)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return ms, nil
}

// parseMountinfo keeps the cgroup and cgroup2 mounts. A line is
// "id parent maj:min root mountpoint opts [optional...] - fstype source superopts".
func parseMountinfo(r io.Reader) (mounts, error) {
	var out mounts
	s := bufio.NewScanner(r)
	for s.Scan() {
		line := s.Text()
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			return nil, fmt.Errorf("bad mountinfo line %q: no ' - ' separator", line)
		}
		pf, sf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(sf) < 3 {
			return nil, fmt.Errorf("bad mountinfo line %q: too few fields", line)
		}
		m := mount{Root: unescapeMount(pf[3]), Mountpoint: unescapeMount(pf[4])}
		switch sf[0] {
		case "cgroup2":
			m.V2 = true
		case "cgroup":
			for _, o := range strings.Split(sf[2], ",") {
				switch {
				case o == "rw" || o == "ro" || strings.Contains(o, "="):
				default:
					m.Controllers = append(m.Controllers, o)
				}
			}
		default:
			continue
		}
		out = append(out, m)
	}
	return out, s.Err()
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			ok := true
			for _, c := range []byte(s[i+1 : i+4]) {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + (c - '0')
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func readProcCgroup(path string) (map[string]string, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("read own cgroup: %w", err)
	}
	defer f.Close()
	v1, unified, err := parseProcCgroup(f)
	if err != nil {
		return nil, "", fmt.Errorf("parse %s: %w", path, err)
	}
	return v1, unified, nil
}

// parseProcCgroup reads "hierarchy-id:controllers:path" lines: the v1
// paths by controller, and the v2 path (the "0::" line).
func parseProcCgroup(r io.Reader) (map[string]string, string, error) {
	v1 := map[string]string{}
	unified := ""
	s := bufio.NewScanner(r)
	for s.Scan() {
		parts := strings.SplitN(s.Text(), ":", 3)
		if len(parts) != 3 {
			return nil, "", fmt.Errorf("bad line %q: expected id:controllers:path", s.Text())
		}
		if parts[1] == "" {
			unified = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			v1[c] = parts[2]
		}
	}
	return v1, unified, s.Err()
}
