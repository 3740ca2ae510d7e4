package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// fakeBlobs serves blobs by digest and counts the downloads.
type fakeBlobs struct {
	mu      sync.Mutex
	content map[string][]byte
	fetches map[string]int
}

func newFakeBlobs() *fakeBlobs {
	return &fakeBlobs{content: map[string][]byte{}, fetches: map[string]int{}}
}

// add stores content under its digest (or under digest, to serve a
// corrupt blob) and returns the digest.
func (f *fakeBlobs) add(content []byte, digest string) string {
	if digest == "" {
		sum := sha256.Sum256(content)
		digest = hex.EncodeToString(sum[:])
	}
	f.mu.Lock()
	f.content[digest] = content
	f.mu.Unlock()
	return digest
}

func (f *fakeBlobs) fetch(_ context.Context, digest string) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.content[digest]
	if !ok {
		return nil, structs.NewError(structs.CodeNotFound, "blob %s not found", digest)
	}
	f.fetches[digest]++
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (f *fakeBlobs) count(digest string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fetches[digest]
}

func blobOf(c byte, n int) []byte { return bytes.Repeat([]byte{c}, n) }

func cached(dir, digest string) bool { return exists(filepath.Join(dir, digest)) }

// setUsed makes a blob's last use a fixed time, so LRU order does not
// depend on the clock's resolution.
func setUsed(t *testing.T, dir, digest string, at time.Time) {
	t.Helper()
	if err := os.Chtimes(filepath.Join(dir, digest), at, at); err != nil {
		t.Fatal(err)
	}
}

func TestBlobCacheFetchesOnceAndVerifies(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blobs")
	fb := newFakeBlobs()
	c := newBlobCache(dir, 1<<20, fb.fetch, testLogger(t))
	good := fb.add([]byte("code"), "")
	for i := 0; i < 2; i++ {
		p, release, err := c.Get(context.Background(), good)
		if err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, p); got != "code" {
			t.Errorf("cached content %q", got)
		}
		release()
		release() // a second call is harmless
	}
	if n := fb.count(good); n != 1 {
		t.Errorf("downloaded %d times, want once", n)
	}

	tests := []struct {
		name    string
		digest  string
		wantErr string
	}{
		{"corrupt download", fb.add([]byte("tampered"), strings.Repeat("ab", 32)), "download is corrupt"},
		{"unknown blob", strings.Repeat("cd", 32), "not found"},
		{"not a digest", "../../etc/passwd", "invalid digest"},
		{"upper-case digest", strings.Repeat("AB", 32), "invalid digest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := c.Get(context.Background(), tc.digest)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Get = %v, want an error mentioning %q", err, tc.wantErr)
			}
			if validDigest(tc.digest) == nil && cached(dir, tc.digest) {
				t.Error("a failed download is in the cache")
			}
		})
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("cache dir holds %d files, want only the good blob (no partial downloads)", len(ents))
	}
}

func TestBlobCacheEvictsLeastRecentlyUsed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blobs")
	fb := newFakeBlobs()
	c := newBlobCache(dir, 250, fb.fetch, testLogger(t))
	a, b, d := fb.add(blobOf('a', 100), ""), fb.add(blobOf('b', 100), ""), fb.add(blobOf('c', 100), "")
	get := func(digest string) {
		t.Helper()
		_, release, err := c.Get(context.Background(), digest)
		if err != nil {
			t.Fatal(err)
		}
		release()
	}
	get(a)
	get(b)
	// a was used after b: b is the least recently used.
	base := time.Now().Add(-time.Hour)
	setUsed(t, dir, b, base)
	setUsed(t, dir, a, base.Add(time.Minute))
	get(d) // 300 bytes > 250: one must go
	if !cached(dir, a) || cached(dir, b) || !cached(dir, d) {
		t.Errorf("after eviction a=%v b=%v c=%v, want a and c kept, b evicted", cached(dir, a), cached(dir, b), cached(dir, d))
	}
	// A hit counts as a use: a, older than c on disk, becomes the newest.
	setUsed(t, dir, a, base)
	setUsed(t, dir, d, base.Add(time.Minute))
	get(a) // a hit: a is now the newest
	get(b) // b comes back; d is now the least recently used
	if !cached(dir, a) || !cached(dir, b) || cached(dir, d) {
		t.Errorf("after a hit on a: a=%v b=%v c=%v, want c evicted", cached(dir, a), cached(dir, b), cached(dir, d))
	}
	if n := fb.count(b); n != 2 {
		t.Errorf("b downloaded %d times, want 2 (evicted in between)", n)
	}
}

func TestBlobCacheNeverEvictsPinnedBlobs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blobs")
	fb := newFakeBlobs()
	c := newBlobCache(dir, 150, fb.fetch, testLogger(t))
	a, b := fb.add(blobOf('a', 100), ""), fb.add(blobOf('b', 100), "")
	pa, releaseA, err := c.Get(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	pb, releaseB, err := c.Get(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	// Both are in use: the cache stays over its cap rather than pull a
	// blob from under a starting allocation.
	if readFile(t, pa) != string(blobOf('a', 100)) || readFile(t, pb) != string(blobOf('b', 100)) {
		t.Fatal("pinned blobs were evicted")
	}
	setUsed(t, dir, a, time.Now().Add(-time.Hour))
	releaseA()
	if cached(dir, a) || !cached(dir, b) {
		t.Errorf("after releasing a: a=%v b=%v, want a evicted (unpinned, least recently used) and b kept", cached(dir, a), cached(dir, b))
	}
	releaseB()
	if !cached(dir, b) {
		t.Error("b evicted although the cache fits its cap")
	}
}
