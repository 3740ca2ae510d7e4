package archive

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/klauspost/compress/gzip"
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

// PackWith is Pack with options; src may also be a single regular file,
// packed as one entry named after it.
func PackWith(w io.Writer, src string, opts PackOptions) (Stats, error) {
	var st Stats
	maxBytes := opts.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	fi, err := os.Stat(src)
	if err != nil {
		return st, fmt.Errorf("pack %s: %w", src, err)
	}
	dir, only := src, ""
	if !fi.IsDir() {
		if !fi.Mode().IsRegular() {
			return st, fmt.Errorf("pack %s: not a directory or regular file", src)
		}
		dir, only = filepath.Dir(src), filepath.Base(src)
	}
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		name := filepath.ToSlash(rel)
		if only != "" && name != only {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if opts.Ignore != nil && opts.Ignore(name, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: name, Mode: int64(info.Mode().Perm()), ModTime: packTime, Format: tar.FormatPAX}
		switch {
		case d.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
			st.Dirs++
			return tw.WriteHeader(hdr)
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
			st.Symlinks++
			return tw.WriteHeader(hdr)
		case info.Mode().IsRegular():
			if info.Size() > maxBytes-st.Bytes {
				return fmt.Errorf("%w: more than %d bytes (at %s)", ErrTooLarge, maxBytes, name)
			}
			hdr.Typeflag, hdr.Size = tar.TypeReg, info.Size()
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			// The tar writer refuses to write more than Size: a file that
			// grows while packed fails instead of corrupting the archive.
			var r io.Reader = f
			if opts.Progress != nil {
				r = &progressReader{r: f, name: name, fn: opts.Progress}
			}
			n, err := io.Copy(tw, r)
			st.Bytes += n
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if n != info.Size() {
				return fmt.Errorf("%s changed while being packed", name)
			}
			st.Files++
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("pack %s: %w", dir, err)
	}
	if err := tw.Close(); err != nil {
		return st, fmt.Errorf("pack %s: %w", dir, err)
	}
	if err := zw.Close(); err != nil {
		return st, fmt.Errorf("pack %s: %w", dir, err)
	}
	return st, nil
}
