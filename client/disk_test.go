package client

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nai-project/nai/client/executor"
	"github.com/nai-project/nai/structs"
)

// fakeDisk is a data dir's filesystem as a test wants it (Client.statfs).
type fakeDisk struct{ free, total atomic.Uint64 }

func newFakeDisk(c *Client, free, total uint64) *fakeDisk {
	d := &fakeDisk{}
	d.free.Store(free)
	d.total.Store(total)
	c.statfs = func(string) (diskSpace, error) { return diskSpace{free: d.free.Load(), total: d.total.Load()}, nil }
	return d
}

// problemRecord is a ProblemSink that keeps the latest message by kind.
type problemRecord struct {
	mu sync.Mutex
	m  map[string]string
}

func (p *problemRecord) Set(kind, msg string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[string]string{}
	}
	p.m[kind] = msg
	return true
}

func (p *problemRecord) Resolve(kind string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.m, kind)
}

func (p *problemRecord) get(kind string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[kind]
}

// A job placed on a node whose data dir is below min_free_disk is not
// started: it ends prolog-failed with a hook report that names the data
// dir and its free bytes, which is what makes the servers requeue it at no
// cost and drain the node (the failed prolog's path); the agent lists the
// condition as a problem until the space is back.
func TestDiskFullRefusesStart(t *testing.T) {
	f := newFakeServers(t)
	data := t.TempDir()
	c := newTestClient(t, f, data, nil)
	disk := newFakeDisk(c, 100<<20, 100<<30) // 100 MiB of 100 GiB: below the 1 GiB default
	c.diskEvery = 20 * time.Millisecond
	probs := &problemRecord{}
	c.SetProblems(probs)
	runClient(t, c)
	ran := filepath.Join(t.TempDir(), "ran")
	a := newAlloc(c, scriptJob("j1", "echo task > "+ran), 1)
	f.put(a)
	waitFor(t, terminalWait, "the allocation to end", func() bool { return f.terminal(a.ID) })
	st := f.status(a.ID)
	h := st.Hook
	if st.Status != structs.AllocFailed || st.ExitReason != structs.ExitPrologFailed || h == nil {
		t.Fatalf("final status %s (%s) %q, hook %+v; want failed, prolog-failed, a hook report", st.Status, st.ExitReason, st.Message, h)
	}
	want := "the node's disk is full: data_dir " + c.cfg.DataDir + " has 104857600 bytes free (100MiB), below min_free_disk 1GiB"
	if h.Hook != structs.HookProlog || h.Message != want || h.AllocID != a.ID || h.JobID != "j1" {
		t.Errorf("hook report %+v\nwant message %q", h, want)
	}
	if err := h.Validate(); err != nil {
		t.Errorf("the servers would refuse the report: %v", err)
	}
	if !strings.Contains(h.DrainReason(), "data_dir "+c.cfg.DataDir+" has 104857600 bytes free") {
		t.Errorf("drain reason %q", h.DrainReason())
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("the task ran on a full disk")
	}
	if p := probs.get(ProblemDiskFull); !strings.HasPrefix(p, want) {
		t.Errorf("agent problem %q, want it to start with %q", p, want)
	}

	if !c.diskDrained.Load() || !exists(filepath.Join(data, diskDrainedFile)) {
		t.Error("the refusal is not remembered as the node's drain")
	}

	// Just above the floor: the problem is resolved, but the drain is
	// not ended yet (no flapping at the floor).
	disk.free.Store(1<<30 + 1)
	if why := c.checkDisk(); why != "" || c.diskRoomy.Load() {
		t.Errorf("checkDisk just above the floor: %q, roomy %v", why, c.diskRoomy.Load())
	}
	if p := probs.get(ProblemDiskFull); p != "" {
		t.Errorf("problem %q still listed with space back", p)
	}
	// Space is back: the client ends its drain (the servers check it is
	// the disk's), once, and jobs start again.
	disk.free.Store(50 << 30)
	waitFor(t, 10*time.Second, "the node's drain ended", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.diskRecovered == 1
	})
	waitFor(t, 5*time.Second, "the mark removed", func() bool { return !exists(filepath.Join(data, diskDrainedFile)) })
	b := newAlloc(c, scriptJob("j2", "true"))
	f.put(b)
	waitFor(t, terminalWait, "the second allocation to end", func() bool { return f.terminal(b.ID) })
	if st := f.status(b.ID); st.Status != structs.AllocComplete {
		t.Errorf("second allocation %s (%s) %q; want complete", st.Status, st.ExitReason, st.Message)
	}
}

// The floor: min_free_disk when set, 1 GiB or 5 % of a smaller filesystem
// by default, none when negative.
func TestMinFreeDisk(t *testing.T) {
	for _, tc := range []struct {
		cfg   int64
		total uint64
		want  int64
		on    bool
	}{
		{0, 100 << 30, 1 << 30, true},
		{0, 4 << 20, 4 << 20 * 5 / 100, true},
		{0, 10 << 30, 512 << 20, true},
		{5 << 30, 4 << 20, 5 << 30, true},
		{-1, 100 << 30, 0, false},
	} {
		c := &Client{cfg: Config{MinFreeDisk: tc.cfg}}
		if got, on := c.minFreeDisk(tc.total); got != tc.want || on != tc.on {
			t.Errorf("min_free_disk %d on %d bytes: %d, %v; want %d, %v", tc.cfg, tc.total, got, on, tc.want, tc.on)
		}
	}
}

// fullFile is an output archive on a disk that fills after limit bytes.
type fullFile struct {
	f     *os.File
	limit int
}

func (w *fullFile) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		n, _ := w.f.Write(p[:w.limit])
		w.limit = 0
		return n, &os.PathError{Op: "write", Path: w.f.Name(), Err: syscall.ENOSPC}
	}
	w.limit -= len(p)
	return w.f.Write(p)
}

func (w *fullFile) Close() error { return w.f.Close() }

// An executor that vanished without exit.json while the data dir is full
// did not lose its node: it could not write its exit status. The end says
// so (disk-full, naming the data dir and its free bytes), not node-lost,
// which a retry policy would send straight back to this node.
func TestVanishedOnFullDiskIsDiskFull(t *testing.T) {
	f := newFakeServers(t)
	data := t.TempDir()
	c := newTestClient(t, f, data, nil)
	newFakeDisk(c, 0, 4<<20)
	a := newAlloc(c, scriptJob("j1", "echo ran"))
	f.put(a)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	dir := allocDir(filepath.Join(data, "allocs", a.ID))
	if err := os.MkdirAll(dir.outputDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := executor.WriteJSONAtomic(dir.path(allocFile), a); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir.path(executor.PidFile), []byte(fmt.Sprint(dead.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	runClient(t, c)
	waitFor(t, terminalWait, "the final report", func() bool { return f.terminal(a.ID) })
	st := f.status(a.ID)
	want := "executor vanished without an exit status while the node's disk is full: data_dir " + c.cfg.DataDir + " has 0 bytes free"
	if st.Status != structs.AllocFailed || st.ExitReason != structs.ExitDiskFull || !strings.HasPrefix(st.Message, want) {
		t.Errorf("status %s/%s %q; want failed/disk-full %q...", st.Status, st.ExitReason, st.Message, want)
	}
}

// A job whose outputs do not fit on the node's disk as a packed archive
// still keeps them: the client packs them straight into the upload (again
// at each try: here two are refused while the packer still writes).
func TestOutputsStreamedWhenDiskFull(t *testing.T) {
	f := newFakeServers(t)
	f.failUploads = 2
	c := newTestClient(t, f, t.TempDir(), nil)
	var archives []string
	var mu sync.Mutex
	c.createArchive = func(p string) (io.WriteCloser, error) {
		mu.Lock()
		archives = append(archives, p)
		mu.Unlock()
		fh, err := createArchiveFile(p)
		if err != nil {
			return nil, err
		}
		return &fullFile{f: fh.(*os.File), limit: 64}, nil
	}
	runClient(t, c)
	a := newAlloc(c, scriptJob("j1", `head -c 100000 /dev/urandom > "$NAI_OUTPUT_DIR/weights.bin"; echo done > "$NAI_OUTPUT_DIR/log.txt"`))
	f.put(a)
	waitFor(t, terminalWait, "the allocation to end", func() bool { return f.terminal(a.ID) })
	st := f.status(a.ID)
	if st.Status != structs.AllocComplete || st.OutputDigest == "" || strings.Contains(st.Message, "upload") {
		t.Fatalf("final status %s (%s) %q, output %q; want complete with outputs", st.Status, st.ExitReason, st.Message, st.OutputDigest)
	}
	f.mu.Lock()
	up := f.uploads[a.ID]
	f.mu.Unlock()
	got := untar(t, bytes.NewReader(up))
	if len(got["weights.bin"]) != 100000 || got["log.txt"] != "done\n" || st.OutputFiles != 2 || st.OutputSize != int64(len(up)) {
		t.Errorf("uploaded %d files (weights %d bytes, log %q), reported %d files of %d bytes (archive %d)",
			len(got), len(got["weights.bin"]), got["log.txt"], st.OutputFiles, st.OutputSize, len(up))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(archives) != 1 {
		t.Fatalf("archives made: %v", archives)
	}
	if _, err := os.Stat(archives[0]); !os.IsNotExist(err) {
		t.Errorf("the half-written archive is still there: %v", err)
	}
}
