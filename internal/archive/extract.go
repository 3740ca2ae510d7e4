package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/klauspost/compress/gzip"
)

// Defaults for Limits fields left at zero.
const (
	DefaultMaxBytes   = int64(64) << 30 // 64 GiB expanded
	DefaultMaxEntries = 1_000_000
	maxNameLen        = 4096
)

// ErrUnsafe is wrapped by every refusal of a dangerous entry, so callers can
// tell a hostile or broken archive from an I/O failure.
var ErrUnsafe = errors.New("unsafe archive")

// ErrTooLarge is wrapped when an archive expands past a limit.
var ErrTooLarge = errors.New("archive too large")

// Limits bound what one archive may expand to. Zero fields take the defaults.
type Limits struct {
	MaxBytes   int64 // total size of regular file contents
	MaxEntries int   // number of entries of any kind
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	return l
}

// Stats says what an extraction wrote.
type Stats struct {
	Files    int
	Dirs     int
	Symlinks int
	Bytes    int64
	// Skipped lists symlinks that were not created because their target
	// is absolute or leaves the directory ("latest -> /data/ckpt"): a job
	// may well leave such links in its outputs, and dropping one is safe.
	// At most maxSkipped are listed; SkippedCount counts them all.
	Skipped      []string
	SkippedCount int
}

const maxSkipped = 100

// Option changes how Extract and ExtractNew write what they unpack.
type Option func(*extractor)

// WithUmask gives what is unpacked the modes the user's own new files
// would get, as tar gives them for a user other than root, rather than
// the modes in the archive: regular files 0666&^umask (0777&^umask when
// the archived file had an execute bit), directories 0777&^umask, the
// folder unpacked into included. Directories keep rwx for their owner
// whatever the umask, so that their entries can be written. It is for
// unpacking into a person's folder what was packed under another umask
// (a job's outputs, written by a task whose umask is 077).
func WithUmask(umask fs.FileMode) Option {
	return func(x *extractor) { x.umask, x.useUmask = umask.Perm(), true }
}

// ExtractNew unpacks a tar+gzip stream into dir, which must not exist or
// must be an empty directory. It unpacks into a temporary sibling first and
// renames it into place, so on any error dir is left as it was.
func ExtractNew(r io.Reader, dir string, lim Limits, opts ...Option) (Stats, error) {
	dir = filepath.Clean(dir)
	if entries, err := os.ReadDir(dir); err == nil {
		if len(entries) > 0 {
			return Stats{}, fmt.Errorf("%s is not empty: choose a new or empty directory", dir)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return Stats{}, fmt.Errorf("check %s: %w", dir, err)
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return Stats{}, fmt.Errorf("create %s: %w", parent, err)
	}
	tmp, err := os.MkdirTemp(parent, ".nai-extract-")
	if err != nil {
		return Stats{}, fmt.Errorf("create staging directory: %w", err)
	}
	st, err := Extract(r, tmp, lim, opts...)
	if err != nil {
		os.RemoveAll(tmp)
		return st, err
	}
	// MkdirTemp makes 0700; the result should look like a normal directory.
	if err := os.Chmod(tmp, newExtractor(tmp, lim, opts).dirMode(0o755)); err != nil {
		os.RemoveAll(tmp)
		return st, fmt.Errorf("chmod %s: %w", tmp, err)
	}
	// os.Rename refuses to replace a directory; dir is empty if it exists.
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		os.RemoveAll(tmp)
		return st, fmt.Errorf("replace empty %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return st, fmt.Errorf("move outputs into %s: %w", dir, err)
	}
	return st, nil
}

// Extract unpacks a tar+gzip stream into dir, an existing directory. It
// stops at the first unsafe entry; what was written before stays.
func Extract(r io.Reader, dir string, lim Limits, opts ...Option) (Stats, error) {
	var st Stats
	lim = lim.withDefaults()
	zr, err := gzip.NewReader(r)
	if err != nil {
		return st, fmt.Errorf("read archive: not a gzip stream: %w", err)
	}
	defer zr.Close()
	fi, err := os.Stat(dir)
	if err != nil {
		return st, fmt.Errorf("extract into %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return st, fmt.Errorf("extract into %s: not a directory", dir)
	}
	x := newExtractor(dir, lim, opts)
	tr := tar.NewReader(zr)
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			return x.st, nil
		}
		if err != nil {
			return x.st, fmt.Errorf("read archive: %w", err)
		}
		if n >= lim.MaxEntries {
			return x.st, fmt.Errorf("%w: more than %d entries", ErrTooLarge, lim.MaxEntries)
		}
		if err := x.entry(hdr, tr); err != nil {
			return x.st, err
		}
	}
}

type extractor struct {
	root     string
	lim      Limits
	st       Stats
	umask    fs.FileMode
	useUmask bool // WithUmask
}

func newExtractor(root string, lim Limits, opts []Option) *extractor {
	x := &extractor{root: root, lim: lim}
	for _, o := range opts {
		o(x)
	}
	return x
}

// fileMode is the permission a regular file archived with mode gets.
func (x *extractor) fileMode(mode fs.FileMode) fs.FileMode {
	perm := mode.Perm()
	switch {
	case !x.useUmask:
		return perm
	case perm&0o111 != 0:
		return 0o777 &^ x.umask
	default:
		return 0o666 &^ x.umask
	}
}

// dirMode is the permission a directory archived with mode gets; the
// owner keeps write access so that later entries can be created inside
// it.
func (x *extractor) dirMode(mode fs.FileMode) fs.FileMode {
	perm := mode.Perm()
	if x.useUmask {
		perm = 0o777 &^ x.umask
	}
	return perm | 0o700
}

// entryName checks an entry's name and returns it cleaned, relative to the
// root, with '/' separators; "." is the root itself.
func entryName(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w: entry with an empty name", ErrUnsafe)
	}
	if len(name) > maxNameLen {
		return "", fmt.Errorf("%w: entry name longer than %d bytes", ErrUnsafe, maxNameLen)
	}
	if strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("%w: entry name %q contains a NUL byte", ErrUnsafe, name)
	}
	if path.IsAbs(name) || filepath.IsAbs(name) {
		return "", fmt.Errorf("%w: entry %q has an absolute path", ErrUnsafe, name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: entry %q contains \"..\"", ErrUnsafe, name)
		}
	}
	return path.Clean(name), nil
}

func (x *extractor) entry(hdr *tar.Header, body io.Reader) error {
	name, err := entryName(hdr.Name)
	if err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		return nil // metadata only
	case tar.TypeDir:
		if name == "." {
			return nil
		}
		if err := x.checkParents(name); err != nil {
			return err
		}
		return x.mkdir(name, hdr.FileInfo().Mode())
	//lint:ignore SA1019 old archives still use TypeRegA
	case tar.TypeReg, tar.TypeRegA:
		if name == "." {
			return fmt.Errorf("%w: file entry %q names the root", ErrUnsafe, hdr.Name)
		}
		if err := x.checkParents(name); err != nil {
			return err
		}
		return x.writeFile(name, hdr, body)
	case tar.TypeSymlink:
		if name == "." {
			return fmt.Errorf("%w: symlink entry %q names the root", ErrUnsafe, hdr.Name)
		}
		if err := x.checkParents(name); err != nil {
			return err
		}
		return x.symlink(name, hdr.Linkname)
	case tar.TypeLink:
		return fmt.Errorf("%w: entry %q is a hard link; hard links are not supported", ErrUnsafe, hdr.Name)
	case tar.TypeChar, tar.TypeBlock:
		return fmt.Errorf("%w: entry %q is a device file", ErrUnsafe, hdr.Name)
	case tar.TypeFifo:
		return fmt.Errorf("%w: entry %q is a FIFO", ErrUnsafe, hdr.Name)
	default:
		return fmt.Errorf("%w: entry %q has unsupported type %q", ErrUnsafe, hdr.Name, hdr.Typeflag)
	}
}

// checkParents makes the directories above name and refuses to go through
// a symlink, so that an entry lands exactly where its name says. Together
// with the symlink target rule this keeps every write inside the root.
func (x *extractor) checkParents(name string) error {
	dir := path.Dir(name)
	if dir == "." {
		return nil
	}
	cur := x.root
	for _, part := range strings.Split(dir, "/") {
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(cur, 0o755); err != nil {
				return fmt.Errorf("create %s: %w", cur, err)
			}
			if x.useUmask {
				if err := os.Chmod(cur, x.dirMode(0o755)); err != nil {
					return fmt.Errorf("chmod %s: %w", cur, err)
				}
			}
			x.st.Dirs++
		case err != nil:
			return fmt.Errorf("check %s: %w", cur, err)
		case fi.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("%w: entry %q would be written through symlink %q", ErrUnsafe, name, x.rel(cur))
		case !fi.IsDir():
			return fmt.Errorf("%w: entry %q needs %q to be a directory, but it is a file", ErrUnsafe, name, x.rel(cur))
		}
	}
	return nil
}

func (x *extractor) rel(p string) string {
	r, err := filepath.Rel(x.root, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(r)
}

// mkdir makes a directory (with dirMode).
func (x *extractor) mkdir(name string, mode fs.FileMode) error {
	p := filepath.Join(x.root, filepath.FromSlash(name))
	perm := x.dirMode(mode)
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.Mkdir(p, perm); err != nil {
			return fmt.Errorf("create %s: %w", name, err)
		}
		x.st.Dirs++
		return os.Chmod(p, perm) // umask narrowed it
	case err != nil:
		return fmt.Errorf("check %s: %w", name, err)
	case fi.IsDir():
		return os.Chmod(p, perm)
	default:
		return fmt.Errorf("%w: directory entry %q collides with an existing non-directory", ErrUnsafe, name)
	}
}

// removeExisting removes a non-directory already at p (a duplicate entry: the later
// one wins, as with tar). A directory is never replaced.
func removeExisting(p, name string) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check %s: %w", name, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("%w: entry %q would replace a directory", ErrUnsafe, name)
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("replace %s: %w", name, err)
	}
	return nil
}

func (x *extractor) writeFile(name string, hdr *tar.Header, body io.Reader) error {
	if hdr.Size < 0 {
		return fmt.Errorf("%w: entry %q has a negative size", ErrUnsafe, name)
	}
	if hdr.Size > x.lim.MaxBytes-x.st.Bytes {
		return fmt.Errorf("%w: expands past the limit of %d bytes (at %q)", ErrTooLarge, x.lim.MaxBytes, name)
	}
	p := filepath.Join(x.root, filepath.FromSlash(name))
	if err := removeExisting(p, name); err != nil {
		return err
	}
	// O_EXCL|O_NOFOLLOW: never open something that appeared in between.
	perm := x.fileMode(hdr.FileInfo().Mode())
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, perm)
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	n, err := io.Copy(f, io.LimitReader(body, hdr.Size))
	x.st.Bytes += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if n != hdr.Size {
		return fmt.Errorf("write %s: archive ended after %d of %d bytes", name, n, hdr.Size)
	}
	// Drop setuid/setgid/sticky: the umask may also have narrowed the mode.
	if err := os.Chmod(p, perm); err != nil {
		return fmt.Errorf("chmod %s: %w", name, err)
	}
	// Pack writes time 0 (packTime) so the same folder packs to the same
	// bytes: such an entry, like one with no time or one before 1970,
	// keeps the time it is written now rather than claim 1970-01-01.
	if t := hdr.ModTime; !t.IsZero() && t.After(packTime) {
		_ = os.Chtimes(p, t, t) // cosmetic; a failure is not worth stopping for
	}
	x.st.Files++
	return nil
}

// symlink creates a relative symlink whose target, resolved from the
// link's own directory, stays inside the root; any other is skipped. The cleaned target is what
// gets written, so a later entry cannot change what "a/.." means by turning
// "a" into a symlink: only leading ".." remain, and they climb through real
// directories (entries are never written through symlinks).
func (x *extractor) symlink(name, target string) error {
	if target == "" {
		return fmt.Errorf("%w: symlink %q has an empty target", ErrUnsafe, name)
	}
	if strings.ContainsRune(target, 0) || len(target) > maxNameLen {
		return fmt.Errorf("%w: symlink %q has an invalid target", ErrUnsafe, name)
	}
	clean := path.Clean(target)
	resolved := path.Join(path.Dir(name), clean)
	if path.IsAbs(target) || filepath.IsAbs(target) || resolved == ".." || strings.HasPrefix(resolved, "../") {
		x.st.SkippedCount++
		if len(x.st.Skipped) < maxSkipped {
			x.st.Skipped = append(x.st.Skipped, fmt.Sprintf("%s -> %s", name, target))
		}
		return nil
	}
	p := filepath.Join(x.root, filepath.FromSlash(name))
	if err := removeExisting(p, name); err != nil {
		return err
	}
	if err := os.Symlink(filepath.FromSlash(clean), p); err != nil {
		return fmt.Errorf("create symlink %s: %w", name, err)
	}
	x.st.Symlinks++
	return nil
}
