package cgroupfs

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// V1Required are the v1 controllers every allocation joins, in the order
// AddProc writes them; V1Optional may be missing (without a freezer, Kill
// kills without freezing first).
var (
	V1Required = []string{"memory", "cpu", "cpuacct", "pids", "devices"}
	V1Optional = []string{"freezer"}
)

// Tree is <parent>/nai in every hierarchy nai uses: where allocation
// cgroups live, one directory below it each.
type Tree struct {
	version     int
	hierarchies []Hierarchy
	logger      *slog.Logger
	// origin is where the process that made the tree stood (Origin).
	origin    *Origin
	originErr error
}

// Hierarchy is the nai tree in one cgroup hierarchy: a v1 controller's,
// or the unified one.
type Hierarchy struct {
	// Controller is the v1 controller (memory, cpu, ...); "" on v2.
	Controller string
	// Mountpoint is where the hierarchy is mounted, e.g. /sys/fs/cgroup/memory.
	Mountpoint string
	// Path is <parent>/nai as a cgroup path relative to Mountpoint.
	Path string
	// ParentDir is <Mountpoint>/<parent>; Dir is <ParentDir>/nai.
	ParentDir, Dir string
}

// GroupDir is the directory of the allocation cgroup name in h.
func (h Hierarchy) GroupDir(name string) string { return filepath.Join(h.Dir, name) }

// NewTree detects the host's cgroup mode and finds, making it if needed,
// <parent>/nai in each hierarchy. parent "" means the calling process's
// own cgroup (per controller on v1, from /proc/self/cgroup), mapped back
// out of a nai tree when the caller runs inside one (the executor, the
// exec shim), so that they resolve the agent's parent; otherwise it is a
// cgroup path such as "/nai.slice" as /proc/self/cgroup would print it. A
// parent that does not exist or cannot be written is an error naming it.
func NewTree(parent string, logger *slog.Logger) (*Tree, error) {
	mode, err := Mode()
	if err != nil {
		return nil, err
	}
	return newTree(mode == 2, parent, false, logger)
}

// OpenTree is NewTree for a caller that only opens groups the agent made
// (the executor and the exec shim, once per job): it neither checks the
// parent nor makes <parent>/nai (six stat and six mkdir calls on a v1
// host, 5 % of an executor's CPU, perf), so a missing parent shows up as
// Open's ErrNotFound.
func OpenTree(parent string, logger *slog.Logger) (*Tree, error) {
	mode, err := Mode()
	if err != nil {
		return nil, err
	}
	return newTree(mode == 2, parent, true, logger)
}

// NewUnifiedTree is NewTree on the cgroup2 hierarchy whatever the host's
// mode: on a hybrid host that is the unified mount beside the v1
// controllers (usually without controllers of its own: process tracking,
// freeze and kill only).
func NewUnifiedTree(parent string, logger *slog.Logger) (*Tree, error) {
	return newTree(true, parent, false, logger)
}

// newTree finds the tree; existing: without checking or making any dir
// (OpenTree).
func newTree(unified bool, parent string, existing bool, logger *slog.Logger) (*Tree, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if parent != "" && (!strings.HasPrefix(parent, "/") || filepath.Clean(parent) != parent) {
		return nil, fmt.Errorf("invalid cgroup parent %q: expected a clean absolute cgroup path such as /nai.slice, or empty for the agent's own cgroup", parent)
	}
	mounts, err := readMountinfo("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	own, ownUnified, err := readProcCgroup("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	var t *Tree
	if unified {
		m, ok := mounts.unified()
		if !ok {
			return nil, fmt.Errorf("no cgroup2 mount in /proc/self/mountinfo")
		}
		p := parent
		if p == "" {
			if p, err = m.relative(outsideNai(ownUnified)); err != nil {
				return nil, err
			}
		}
		t, err = newV2Tree(m.Mountpoint, p, existing, logger)
	} else {
		t, err = newV1Tree(mounts, own, parent, existing, logger)
	}
	if err != nil {
		return nil, err
	}
	t.origin, t.originErr = originOf(unified, mounts, own, ownUnified)
	return t, nil
}

func newV1Tree(ms mounts, own map[string]string, parent string, existing bool, logger *slog.Logger) (*Tree, error) {
	t := &Tree{version: 1, logger: logger}
	var missing []string
	for _, name := range append(slices.Clone(V1Required), V1Optional...) {
		required := !slices.Contains(V1Optional, name)
		mnt, ok := ms.controller(name)
		if !ok {
			if required {
				missing = append(missing, name)
			} else {
				logger.Warn("cgroup v1 controller not mounted; Kill will not freeze before killing", "controller", name)
			}
			continue
		}
		cgPath := parent
		if cgPath == "" {
			if cgPath, ok = own[name]; !ok {
				return nil, fmt.Errorf("own cgroup for controller %s not listed in /proc/self/cgroup", name)
			}
			cgPath = outsideNai(cgPath)
		}
		rel, err := mnt.relative(cgPath)
		if err != nil {
			return nil, err
		}
		parentDir := filepath.Join(mnt.Mountpoint, rel)
		naiDir := filepath.Join(parentDir, "nai")
		if !existing {
			if st, err := os.Stat(parentDir); err != nil || !st.IsDir() {
				return nil, fmt.Errorf("cgroup parent %q does not exist in the %s hierarchy: %s is not a directory", cgPath, name, parentDir)
			}
			if err := os.Mkdir(naiDir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return nil, fmt.Errorf("cgroup parent %q is not writable in the %s hierarchy: %w", cgPath, name, err)
			}
			if name == "pids" {
				CapTreePids(naiDir, logger)
			}
		}
		t.hierarchies = append(t.hierarchies, Hierarchy{
			Controller: name, Mountpoint: mnt.Mountpoint,
			Path: filepath.Join(rel, "nai"), ParentDir: parentDir, Dir: naiDir,
		})
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("cgroup v1 controllers not mounted: %s (allocations cannot be limited)", strings.Join(missing, ", "))
	}
	return t, nil
}

// newV2Tree finds <parent>/nai on the cgroup2 hierarchy mounted at
// mountpoint, parent being a cgroup path relative to it.
func newV2Tree(mountpoint, parent string, existing bool, logger *slog.Logger) (*Tree, error) {
	parentDir := filepath.Join(mountpoint, parent)
	naiDir := filepath.Join(parentDir, "nai")
	if existing {
		return &Tree{version: 2, logger: logger, hierarchies: []Hierarchy{{
			Mountpoint: mountpoint, Path: filepath.Join("/", parent, "nai"), ParentDir: parentDir, Dir: naiDir,
		}}}, nil
	}
	if st, err := os.Stat(parentDir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("cgroup parent %q does not exist on the cgroup2 mount %s: %s is not a directory", parent, mountpoint, parentDir)
	}
	if _, err := os.Stat(filepath.Join(parentDir, "cgroup.controllers")); err != nil {
		return nil, fmt.Errorf("cgroup parent %s is not a cgroup2 directory (no cgroup.controllers)", parentDir)
	}
	if err := os.Mkdir(naiDir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("cgroup parent %s is not writable: %w", parentDir, err)
	}
	CapTreePids(naiDir, logger)
	return &Tree{version: 2, logger: logger, hierarchies: []Hierarchy{{
		Mountpoint: mountpoint, Path: filepath.Join("/", parent, "nai"), ParentDir: parentDir, Dir: naiDir,
	}}}, nil
}

// hostPidsReserve is how many of the host's process ids the jobs of a
// node, all together, leave to the host and the agent: a fork bomb in
// each of a node's jobs (each job has its own pids limit) could otherwise
// take every id, and the agent could start no executor and the operator
// no shell.
const hostPidsReserve = 8192

// CapTreePids limits the processes of all the allocations under dir (the
// nai dir of the pids hierarchy) to the host's pid_max less
// hostPidsReserve, or a quarter of pid_max on a host with few; a dir
// already limited (by the operator) is left alone. Best effort: a failure
// is logged, the jobs' own limits still hold.
func CapTreePids(dir string, logger *slog.Logger) {
	file := filepath.Join(dir, "pids.max")
	cur, err := os.ReadFile(file)
	if err != nil || strings.TrimSpace(string(cur)) != "max" {
		return // no pids controller here, or a limit someone set
	}
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		return
	}
	pidMax, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pidMax <= 0 {
		return
	}
	limit := pidMax - min(hostPidsReserve, pidMax/4)
	if err := os.WriteFile(file, []byte(strconv.Itoa(limit)), 0o644); err != nil {
		logger.Warn("cannot limit the processes of all jobs together", "file", file, "err", err)
		return
	}
	logger.Debug("limited the processes of all jobs together", "pids.max", limit, "pid_max", pidMax)
}

// Version is 1 or 2.
func (t *Tree) Version() int { return t.version }

// Release removes <parent>/nai from each hierarchy where it holds no
// cgroup any more: the agent stops, and leaves nothing of its own behind.
// A nai dir that still holds an allocation (a task that outlives its agent,
// which a restarted agent adopts) or another agent's cgroups is busy and
// stays; one made again later (Create makes it when missing) is fine. It
// answers the dirs it removed.
func (t *Tree) Release() ([]string, error) {
	var removed []string
	var errs []error
	for _, h := range t.hierarchies {
		if slices.Contains(removed, h.Dir) {
			continue // controllers mounted together
		}
		err := os.Remove(h.Dir)
		switch {
		case err == nil:
			removed = append(removed, h.Dir)
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.EBUSY), errors.Is(err, syscall.ENOTEMPTY):
		default:
			errs = append(errs, fmt.Errorf("remove cgroup %s: %w", h.Dir, err))
		}
	}
	return removed, errors.Join(errs...)
}

// Hierarchies are the tree's hierarchies: on v1 one per mounted
// controller in V1Required, V1Optional order; on v2 the unified one.
func (t *Tree) Hierarchies() []Hierarchy { return slices.Clone(t.hierarchies) }

// Open finds the existing allocation cgroup name: on v1 the controllers
// whose directory exists (ErrNotFound when none does), on v2 its one
// directory.
func (t *Tree) Open(name string) (Group, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	var found []Hierarchy
	for _, h := range t.hierarchies {
		_, err := os.Lstat(h.GroupDir(name))
		switch {
		case err == nil:
			found = append(found, h)
		case errors.Is(err, fs.ErrNotExist):
		default:
			return nil, fmt.Errorf("open cgroup %s: %w", name, err)
		}
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("open cgroup %s: %w", name, ErrNotFound)
	}
	if t.version == 2 {
		return &v2Group{name: name, dir: found[0].GroupDir(name), logger: t.logger}, nil
	}
	g := &v1Group{name: name, logger: t.logger}
	for _, h := range found {
		g.dirs = append(g.dirs, controllerDir{h.Controller, h.GroupDir(name)})
	}
	return g, nil
}
