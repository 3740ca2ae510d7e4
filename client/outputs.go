package client

import (
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"

	"github.com/nai-project/nai/internal/archive"
	"github.com/nai-project/nai/structs"
)

// packOutputs writes the tar+gzip archive of dir to dst. Regular files,
// directories and symlinks are kept (a symlink as a link, never followed);
// other file types are skipped. The archive is the same bytes for the same
// files (names in order, no times or owners), so a rerun that writes the
// same outputs has the same digest: a dataset or model version is then not
// made twice. keep, when not nil, leaves out what output { keep } does not
// keep (keptOutputs).
func packOutputs(dir, dst string, keep *outputKeep) (archive.Stats, error) {
	f, err := os.Create(dst)
	if err != nil {
		return archive.Stats{}, fmt.Errorf("create output archive: %w", err)
	}
	defer f.Close()
	// Outputs are what the job made, however large: no cap here (the
	// disk and the blob store bound them).
	opts := archive.PackOptions{MaxBytes: math.MaxInt64}
	if keep != nil {
		opts.Ignore = func(rel string, _ bool) bool { return !keep.paths[rel] }
	}
	st, err := archive.PackWith(f, dir, opts)
	if err != nil {
		return st, err
	}
	if err := f.Close(); err != nil {
		return st, fmt.Errorf("pack %s: %w", dir, err)
	}
	return st, nil
}

// outputKeep is what output { keep } keeps of an output dir.
type outputKeep struct {
	// paths holds the files and symlinks kept and the folders above them,
	// so a folder with nothing kept is not packed as an empty one.
	paths map[string]bool
	// files counts the files and symlinks in the dir; kept those kept.
	files, kept int
}

// keptOutputs walks dir and applies out's keep globs to each file and
// symlink (structs.OutputSpec.KeepMatch, on the slash-separated path below
// dir). It returns nil when out keeps everything.
func keptOutputs(dir string, out *structs.OutputSpec) (*outputKeep, error) {
	if out == nil || len(out.Keep) == 0 {
		return nil, nil
	}
	k := &outputKeep{paths: map[string]bool{}}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !(d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0) {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		k.files++
		if !out.KeepMatch(rel) {
			return nil
		}
		k.kept++
		for q := rel; q != "." && !k.paths[q]; q = path.Dir(q) {
			k.paths[q] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("apply output keep to %s: %w", dir, err)
	}
	return k, nil
}
