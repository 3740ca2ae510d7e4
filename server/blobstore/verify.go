package blobstore

import (
	"os"
	"sync"
	"syscall"
)

// verifiedCache remembers, per digest, the file as it was when its sha256
// last matched, so a copy is hashed again only when it changed.
type verifiedCache struct {
	mu sync.Mutex
	m  map[string]fileStamp
}

func (c *verifiedCache) matches(digest string, st fileStamp) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.m[digest]
	return ok && old == st
}

func (c *verifiedCache) remember(digest string, st fileStamp) {
	c.mu.Lock()
	c.m[digest] = st
	c.mu.Unlock()
}

func (c *verifiedCache) forget(digest string) {
	c.mu.Lock()
	delete(c.m, digest)
	c.mu.Unlock()
}

// fileStamp identifies one version of a file: a write changes its mtime
// and ctime, a replacement its inode. Bit rot changes none of them; the
// scrub (Store.Verify) finds that.
type fileStamp struct {
	size, mtime, ctime int64
	ino                uint64
}

func stampOf(fi os.FileInfo) fileStamp {
	st := fileStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ctime = sys.Ctim.Nano()
		st.ino = sys.Ino
	}
	return st
}
