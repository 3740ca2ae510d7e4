package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nai-project/nai/api"
)

// genReader yields n bytes of a fixed pseudo-random pattern, cheaply, so a
// multi-gigabyte upload needs no file and no memory.
type genReader struct {
	left    int64
	pattern []byte
	off     int
}

func newGenReader(n int64) *genReader {
	p := make([]byte, 1<<20)
	x := uint32(2463534242)
	for i := range p {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		p[i] = byte(x)
	}
	return &genReader{left: n, pattern: p}
}

func (g *genReader) Read(b []byte) (int, error) {
	if g.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > g.left {
		b = b[:g.left]
	}
	n := 0
	for n < len(b) {
		c := copy(b[n:], g.pattern[g.off:])
		n += c
		g.off = (g.off + c) % len(g.pattern)
	}
	g.left -= int64(n)
	return n, nil
}

// vmRSS reads this process's resident set size from /proc.
func vmRSS(t testing.TB) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmRSS line")
	return 0
}

// rssPeak samples the RSS until stop is called and returns the peak.
func rssPeak(t testing.TB) (stop func() int64) {
	var peak atomic.Int64
	peak.Store(vmRSS(t))
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if r := vmRSS(t); r > peak.Load() {
					peak.Store(r)
				}
			}
		}
	}()
	return func() int64 {
		close(done)
		wg.Wait()
		return peak.Load()
	}
}

func blobTestBytes() int64 {
	if v, err := strconv.ParseInt(os.Getenv("NAI_BLOB_TEST_BYTES"), 10, 64); err == nil && v > 0 {
		return v
	}
	return 2 << 30
}

// TestBlobStreamsLargeUpload sends 2 GiB (NAI_BLOB_TEST_BYTES) through
// the HTTP API and back, and checks that the process's resident memory and
// Go heap stay flat: blobs stream, they are never buffered whole.
func TestBlobStreamsLargeUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("writes gigabytes: skipped with -short")
	}
	size := blobTestBytes()
	_, c := testServer(t, t.TempDir())
	ctx := context.Background()

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rssBefore := vmRSS(t)
	stop := rssPeak(t)

	gen := newGenReader(size)
	h := sha256.New()
	info, err := c.UploadBlob(ctx, io.TeeReader(gen, h))
	if err != nil {
		t.Fatal(err)
	}
	want := hex.EncodeToString(h.Sum(nil))
	if info.Digest != want || info.Size != size {
		t.Fatalf("uploaded %s (%d bytes), want %s (%d)", info.Digest, info.Size, want, size)
	}
	rc, err := c.Blob(ctx, info.Digest)
	if err != nil {
		t.Fatal(err)
	}
	h.Reset()
	n, err := io.Copy(h, rc)
	rc.Close()
	if err != nil || n != size || hex.EncodeToString(h.Sum(nil)) != want {
		t.Fatalf("downloaded %d bytes (%v), digest match %v", n, err, hex.EncodeToString(h.Sum(nil)) == want)
	}
	peak := stop()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)

	const slack = 64 << 20
	growth := peak - rssBefore
	heap := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("moved %d MiB up and down: RSS %d MiB before, peak %d MiB (+%d MiB); heap in use %+d MiB",
		size>>20, rssBefore>>20, peak>>20, growth>>20, heap>>20)
	if growth > slack {
		t.Errorf("resident memory grew by %d MiB while streaming %d MiB: something buffers", growth>>20, size>>20)
	}
	if heap > slack {
		t.Errorf("heap in use grew by %d MiB", heap>>20)
	}
}

// benchBytes is the blob size of the throughput benchmarks
// (NAI_BLOB_BENCH_BYTES, default 512 MiB).
func benchBytes() int64 {
	if v, err := strconv.ParseInt(os.Getenv("NAI_BLOB_BENCH_BYTES"), 10, 64); err == nil && v > 0 {
		return v
	}
	return 512 << 20
}

// BenchmarkBlobUpload measures PUT /v1/blobs over loopback HTTP: receive,
// hash, write, fsync, rename.
func BenchmarkBlobUpload(b *testing.B) {
	size := benchBytes()
	c := benchServer(b)
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.UploadBlob(context.Background(), newGenReader(size)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBlobDownload measures GET /v1/blobs/{digest} over loopback.
func BenchmarkBlobDownload(b *testing.B) {
	size := benchBytes()
	c := benchServer(b)
	info, err := c.UploadBlob(context.Background(), newGenReader(size))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		rc, err := c.Blob(context.Background(), info.Digest)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}

// BenchmarkCp is the yardstick: cp of a file of the same size on the same
// disk, and cp followed by fsync of the copy (what an upload does).
func BenchmarkCp(b *testing.B) {
	size := benchBytes()
	dir := b.TempDir()
	src := filepath.Join(dir, "src")
	f, err := os.Create(src)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(f, newGenReader(size)); err != nil {
		b.Fatal(err)
	}
	f.Close()
	for _, sync := range []bool{false, true} {
		name := "cp"
		if sync {
			name = "cp+fsync"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				dst := filepath.Join(dir, "dst")
				if out, err := exec.Command("cp", src, dst).CombinedOutput(); err != nil {
					b.Fatalf("cp: %v %s", err, bytes.TrimSpace(out))
				}
				if sync {
					g, err := os.Open(dst)
					if err != nil {
						b.Fatal(err)
					}
					if err := g.Sync(); err != nil {
						b.Fatal(err)
					}
					g.Close()
				}
				os.Remove(dst)
			}
		})
	}
}

// benchServer starts a one-server cluster with its HTTP API for a benchmark.
func benchServer(b *testing.B) *api.Client {
	b.Helper()
	s := startLeader(b, Config{DataDir: b.TempDir(), NodeName: "bench", Bootstrap: true, Logger: slog.New(slog.DiscardHandler)})
	return serveAPI(b, s)
}
