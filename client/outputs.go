package client

import (
	"fmt"
	"io"
	"math"
	"os"
	"path"

	"github.com/nai-project/nai/client/executor"
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
//
// The output dir belongs to the task's user, whose processes (this job's
// leftovers, or another job of the same user) may change it while the
// agent, as root, packs it: the packer walks by descriptors and never
// follows a symlink (archive.PackWith), the dir itself must not be one,
// and with owner set (a root agent, a task of another uid) only the
// files that uid owns are packed, so a hard link to a root-only file is
// left out with a note.
func packOutputs(dir, dst string, keep *outputKeep, owner *uint32) (archive.Stats, error) {
	return packOutputsWith(createArchiveFile, dir, dst, keep, owner)
}

// packOutputsWith is packOutputs into the file that create makes.
func packOutputsWith(create func(string) (io.WriteCloser, error), dir, dst string, keep *outputKeep, owner *uint32) (archive.Stats, error) {
	f, err := create(dst)
	if err != nil {
		return archive.Stats{}, fmt.Errorf("create output archive: %w", err)
	}
	defer f.Close()
	st, err := packOutputsTo(f, dir, keep, owner)
	if err != nil {
		return st, err
	}
	if err := f.Close(); err != nil {
		return st, fmt.Errorf("pack %s: %w", dir, err)
	}
	return st, nil
}

// createArchiveFile makes the output archive's file (Client.createArchive,
// which a test replaces with a writer that finds the disk full).
func createArchiveFile(dst string) (io.WriteCloser, error) {
	return os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
}

// packOutputsTo writes the archive of packOutputs to w.
func packOutputsTo(w io.Writer, dir string, keep *outputKeep, owner *uint32) (archive.Stats, error) {
	// Outputs are what the job made, however large: no cap here (the
	// disk and the blob store bound them).
	opts := archive.PackOptions{MaxBytes: math.MaxInt64, NoFollow: true, Owner: owner}
	if keep != nil {
		opts.Ignore = func(rel string, _ bool) bool { return !keep.paths[rel] }
	}
	return archive.PackWith(w, dir, opts)
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
	// By descriptors, as the packer walks: a name listed through a
	// symlink swapped in meanwhile would be packed as nothing anyway.
	names, err := archive.Files(dir)
	if err != nil {
		return nil, fmt.Errorf("apply output keep to %s: %w", dir, err)
	}
	for _, rel := range names {
		k.files++
		if !out.KeepMatch(rel) {
			continue
		}
		k.kept++
		for q := rel; q != "." && !k.paths[q]; q = path.Dir(q) {
			k.paths[q] = true
		}
	}
	return k, nil
}

// outputOwner is the uid whose files alone packOutputs packs: the task
// user's, when the agent is root and the task ran as another account
// (alloc.json's executor spec); nil otherwise, when nobody but the agent
// itself could have written there.
func (d allocDir) outputOwner() *uint32 {
	if os.Geteuid() != 0 {
		return nil
	}
	var rec allocRecord
	if err := executor.ReadJSON(d.path(allocFile), &rec); err != nil || rec.Executor == nil || rec.Executor.User == nil || rec.Executor.User.UID == 0 {
		return nil
	}
	uid := rec.Executor.User.UID
	return &uid
}
