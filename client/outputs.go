package client

import (
	"fmt"
	"math"
	"os"

	"github.com/nai-project/nai/internal/archive"
)

// packOutputs writes the tar+gzip archive of dir to dst. Regular files,
// directories and symlinks are kept (a symlink as a link, never followed);
// other file types are skipped. The archive is the same bytes for the same
// files (names in order, no times or owners), so a rerun that writes the
// same outputs has the same digest: a dataset or model version is then not
// made twice.
func packOutputs(dir, dst string) (archive.Stats, error) {
	f, err := os.Create(dst)
	if err != nil {
		return archive.Stats{}, fmt.Errorf("create output archive: %w", err)
	}
	defer f.Close()
	// Outputs are what the job made, however large: no cap here (the
	// disk and the blob store bound them).
	st, err := archive.PackWith(f, dir, archive.PackOptions{MaxBytes: math.MaxInt64})
	if err != nil {
		return st, err
	}
	if err := f.Close(); err != nil {
		return st, fmt.Errorf("pack %s: %w", dir, err)
	}
	return st, nil
}
