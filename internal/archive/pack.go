package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/sys/unix"
)

// packTime is the modification time written for every entry: the same
// folder always packs to the same bytes, so its content-addressed blob is
// uploaded and stored once.
var packTime = time.Unix(0, 0).UTC()

// Pack writes dir as a tar+gzip stream to w: directories, regular files
// and symlinks, with names relative to dir, in lexical order, without
// owners or times. Other file types (sockets, devices, FIFOs) are skipped.
// maxBytes (0: DefaultMaxBytes) bounds the total file size packed, so a
// mistaken code = "/" fails instead of uploading a disk.
func Pack(w io.Writer, dir string, maxBytes int64) (Stats, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return Stats{}, fmt.Errorf("pack %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return Stats{}, fmt.Errorf("pack %s: not a directory", dir)
	}
	return PackWith(w, dir, PackOptions{MaxBytes: maxBytes})
}

// PackOptions tune PackWith.
type PackOptions struct {
	// MaxBytes bounds the total file size packed (0: DefaultMaxBytes).
	MaxBytes int64
	// Ignore, when set, leaves out the entries it matches (rel is the
	// slash-separated name below the folder); an ignored directory is not
	// entered.
	Ignore func(rel string, isDir bool) bool
	// Progress, when set, is called as the bytes of each regular file are
	// read (name as for Ignore, n bytes more): a caller shows progress, or
	// adds up what each folder holds.
	Progress func(name string, n int64)
	// NoFollow refuses a src that is itself a symlink. Below src nothing
	// is ever followed; this is for a src in a trusted parent that should
	// be a real folder (a job's output dir).
	NoFollow bool
	// Owner, when set, packs only the regular files owned by that uid;
	// any other is left out and listed in Stats.Skipped. A root agent
	// packing a job's outputs sets the job's uid: on a host with
	// fs.protected_hardlinks=0 a job can hard-link a file it cannot read
	// (/etc/shadow) into its output dir.
	Owner *uint32
}

// progressReader reports what is read through it.
type progressReader struct {
	r    io.Reader
	name string
	fn   func(string, int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.fn(p.name, int64(n))
	}
	return n, err
}

// Flags every entry below the packed folder is opened with: never through
// a symlink (ELOOP instead), never as a controlling terminal, never
// blocking on a FIFO.
const (
	openEntry = unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NOCTTY | unix.O_NONBLOCK | unix.O_CLOEXEC
	openDir   = openEntry | unix.O_DIRECTORY
)

// PackWith is Pack with options; src may also be a single regular file,
// packed as one entry named after it.
//
// It walks by file descriptors, not by paths: every entry is opened with
// openat relative to its parent's open descriptor, without following a
// symlink, and its type is taken from the opened descriptor (fstat). Who
// changes the folder while it is packed (a job still running, or another
// job of the same user, while a root agent packs its outputs) can make
// the pack fail or miss an entry, but never read anything outside the
// folder: a directory swapped for a symlink is packed as that symlink, or
// not at all.
func PackWith(w io.Writer, src string, opts PackOptions) (Stats, error) {
	p := &packer{opts: opts, maxBytes: opts.MaxBytes}
	if p.maxBytes <= 0 {
		p.maxBytes = DefaultMaxBytes
	}
	flags := openEntry
	if !opts.NoFollow {
		flags &^= unix.O_NOFOLLOW
	}
	fd, err := openRetry(unix.AT_FDCWD, src, flags)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return p.st, fmt.Errorf("pack %s: is a symlink", src)
		}
		return p.st, fmt.Errorf("pack %s: %w", src, err)
	}
	var fst unix.Stat_t
	if err := unix.Fstat(fd, &fst); err != nil {
		unix.Close(fd)
		return p.st, fmt.Errorf("pack %s: %w", src, err)
	}
	dir, only := src, ""
	switch fst.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
	case unix.S_IFREG:
		// One file: walk its parent, packing only that name. The file
		// is opened again below, relative to the parent, and checked.
		unix.Close(fd)
		dir, only = filepath.Dir(src), filepath.Base(src)
		if fd, err = openRetry(unix.AT_FDCWD, dir, openDir&^unix.O_NOFOLLOW); err != nil {
			return p.st, fmt.Errorf("pack %s: %w", src, err)
		}
	default:
		unix.Close(fd)
		return p.st, fmt.Errorf("pack %s: not a directory or regular file", src)
	}
	zw := gzip.NewWriter(w)
	p.tw = tar.NewWriter(zw)
	err = p.walkDir(fd, "", only) // closes fd
	if err != nil {
		return p.st, fmt.Errorf("pack %s: %w", dir, err)
	}
	if err := p.tw.Close(); err != nil {
		return p.st, fmt.Errorf("pack %s: %w", dir, err)
	}
	if err := zw.Close(); err != nil {
		return p.st, fmt.Errorf("pack %s: %w", dir, err)
	}
	return p.st, nil
}

type packer struct {
	opts     PackOptions
	maxBytes int64
	tw       *tar.Writer
	st       Stats
}

func (p *packer) skip(name, why string) {
	p.st.SkippedCount++
	if len(p.st.Skipped) < maxSkipped {
		p.st.Skipped = append(p.st.Skipped, name+" ("+why+")")
	}
}

// openRetry is openat, again on EINTR.
func openRetry(dirfd int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// walkDir packs the entries of the open directory fd (named prefix in the
// archive, "" at the top) in lexical order, as filepath.WalkDir visits
// them. only, when not empty, is the one top-level name to pack. It
// closes fd.
func (p *packer) walkDir(fd int, prefix, only string) error {
	d := os.NewFile(uintptr(fd), prefix)
	defer d.Close()
	var names []string
	if only != "" {
		names = []string{only}
	} else {
		var err error
		if names, err = d.Readdirnames(-1); err != nil {
			return fmt.Errorf("read %s: %w", orDot(prefix), err)
		}
		sort.Strings(names)
	}
	for _, n := range names {
		if err := p.entry(fd, n, prefix+n, only != ""); err != nil {
			return err
		}
	}
	return nil
}

func orDot(s string) string {
	if s == "" {
		return "."
	}
	return s
}

// entry packs the entry base of the directory dirfd, named name in the
// archive.
func (p *packer) entry(dirfd int, base, name string, only bool) error {
	var lst unix.Stat_t
	if err := unix.Fstatat(dirfd, base, &lst, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil // removed since it was listed
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	kind := lst.Mode & unix.S_IFMT
	if only && kind != unix.S_IFREG {
		return fmt.Errorf("%s: not a regular file", name)
	}
	switch kind {
	case unix.S_IFDIR, unix.S_IFREG, unix.S_IFLNK:
	default:
		return nil // sockets, devices, FIFOs: skipped without opening them
	}
	if p.opts.Ignore != nil && p.opts.Ignore(name, kind == unix.S_IFDIR) {
		return nil
	}
	if kind == unix.S_IFLNK {
		return p.symlink(dirfd, base, name, lst.Mode)
	}
	flags := openEntry
	if kind == unix.S_IFDIR {
		flags = openDir
	}
	fd, err := openRetry(dirfd, base, flags)
	switch {
	case err == nil:
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.ENOENT):
		// Swapped for something else (a symlink) since fstatat: pack
		// what is there now, once; a symlink only as a link.
		return p.swapped(dirfd, base, name, kind)
	default:
		return fmt.Errorf("%s: %w", name, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return fmt.Errorf("%s: %w", name, err)
	}
	if st.Mode&unix.S_IFMT != kind {
		unix.Close(fd)
		return p.swapped(dirfd, base, name, kind)
	}
	hdr := &tar.Header{Name: name, Mode: int64(st.Mode & 0o777), ModTime: packTime, Format: tar.FormatPAX}
	if kind == unix.S_IFDIR {
		hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
		p.st.Dirs++
		if err := p.tw.WriteHeader(hdr); err != nil {
			unix.Close(fd)
			return err
		}
		return p.walkDir(fd, name+"/", "")
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	if p.opts.Owner != nil && st.Uid != *p.opts.Owner {
		p.skip(name, fmt.Sprintf("owned by uid %d, not the job's %d", st.Uid, *p.opts.Owner))
		return nil
	}
	return p.file(f, hdr, st.Size)
}

// swapped handles an entry whose type changed between fstatat and
// openat: a symlink now is packed as a link; anything else is an error,
// as a file that changes while it is packed is.
func (p *packer) swapped(dirfd int, base, name string, was uint32) error {
	var lst unix.Stat_t
	if err := unix.Fstatat(dirfd, base, &lst, unix.AT_SYMLINK_NOFOLLOW); err == nil && lst.Mode&unix.S_IFMT == unix.S_IFLNK && was != unix.S_IFLNK {
		return p.symlink(dirfd, base, name, lst.Mode)
	}
	return fmt.Errorf("%s changed while being packed", name)
}

func (p *packer) symlink(dirfd int, base, name string, mode uint32) error {
	buf := make([]byte, 4096)
	n, err := unix.Readlinkat(dirfd, base, buf)
	if err != nil {
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("%s changed while being packed", name)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	hdr := &tar.Header{Name: name, Mode: int64(mode & 0o777), ModTime: packTime, Format: tar.FormatPAX,
		Typeflag: tar.TypeSymlink, Linkname: string(buf[:n])}
	p.st.Symlinks++
	return p.tw.WriteHeader(hdr)
}

func (p *packer) file(f *os.File, hdr *tar.Header, size int64) error {
	name := hdr.Name
	if size > p.maxBytes-p.st.Bytes {
		return fmt.Errorf("%w: more than %d bytes (at %s)", ErrTooLarge, p.maxBytes, name)
	}
	hdr.Typeflag, hdr.Size = tar.TypeReg, size
	if err := p.tw.WriteHeader(hdr); err != nil {
		return err
	}
	// The tar writer refuses to write more than Size: a file that grows
	// while packed fails instead of corrupting the archive.
	var r io.Reader = f
	if p.opts.Progress != nil {
		r = &progressReader{r: f, name: name, fn: p.opts.Progress}
	}
	n, err := io.Copy(p.tw, r)
	p.st.Bytes += n
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if n != size {
		return fmt.Errorf("%s changed while being packed", name)
	}
	p.st.Files++
	return nil
}

// Files lists the regular files and symlinks below the folder dir, as
// slash-separated names in lexical order, walking as PackWith does with
// NoFollow: by descriptors, never through a symlink, dir itself not one.
// A caller picks from the list what to pack (output { keep }) without
// following what a job may swap meanwhile.
func Files(dir string) ([]string, error) {
	fd, err := openRetry(unix.AT_FDCWD, dir, openDir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var names []string
	if err := listDir(fd, "", &names); err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	return names, nil
}

// listDir adds the files and symlinks below the open directory fd to
// names; it closes fd.
func listDir(fd int, prefix string, names *[]string) error {
	d := os.NewFile(uintptr(fd), prefix)
	defer d.Close()
	ents, err := d.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("read %s: %w", orDot(prefix), err)
	}
	sort.Strings(ents)
	for _, n := range ents {
		var st unix.Stat_t
		if err := unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			return fmt.Errorf("%s: %w", prefix+n, err)
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG, unix.S_IFLNK:
			*names = append(*names, prefix+n)
		case unix.S_IFDIR:
			sub, err := openRetry(fd, n, openDir)
			if err != nil {
				if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ENOENT) {
					continue // swapped meanwhile: PackWith decides
				}
				return fmt.Errorf("%s: %w", prefix+n, err)
			}
			if err := listDir(sub, prefix+n+"/", names); err != nil {
				return err
			}
		}
	}
	return nil
}
