package client

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/nai-project/nai/internal/archive"
	"github.com/nai-project/nai/structs"
)

// artifactFetchTimeout bounds fetching one dataset or model version.
const artifactFetchTimeout = 30 * time.Minute

// artifactDir is where one dataset or model version a job reads is found.
type artifactDir struct {
	Name string
	Dir  string
}

// unpackedDir holds dataset and model versions unpacked by digest, shared
// by every job on the node that reads the same version.
func (c *Client) unpackedDir() string { return filepath.Join(c.cfg.DataDir, "cache", "unpacked") }

// stageArtifacts makes every dataset and model version the job reads
// available on this node. Versions were pinned to a digest (or a path on
// every client) when the job was submitted; each blob is fetched through
// the blob cache and unpacked once into cache/unpacked/<digest>, read-only,
// so jobs share it and none can change another's inputs.
func (c *Client) stageArtifacts(job *structs.Job) (datasets, models []artifactDir, err error) {
	stage := func(kind structs.ArtifactKind, refs []structs.ArtifactRef) ([]artifactDir, error) {
		var out []artifactDir
		for _, r := range refs {
			dir, err := c.stageArtifact(r)
			if err != nil {
				return nil, fmt.Errorf("stage %s %s: %w", kind, r, err)
			}
			out = append(out, artifactDir{Name: r.Name, Dir: dir})
		}
		return out, nil
	}
	if datasets, err = stage(structs.KindDataset, job.Datasets); err != nil {
		return nil, nil, err
	}
	if models, err = stage(structs.KindModel, job.Models); err != nil {
		return nil, nil, err
	}
	return datasets, models, nil
}

func (c *Client) stageArtifact(r structs.ArtifactRef) (string, error) {
	if r.Path != "" {
		fi, err := os.Stat(r.Path)
		if err != nil {
			return "", fmt.Errorf("its data should be at %s on every node, but this node cannot read it: %w", r.Path, err)
		}
		if !fi.IsDir() {
			return "", fmt.Errorf("%s is not a directory", r.Path)
		}
		return r.Path, nil
	}
	if err := validDigest(r.Digest); err != nil {
		return "", fmt.Errorf("the job names no content for it (was it submitted before it was resolved?): %w", err)
	}
	dst := filepath.Join(c.unpackedDir(), r.Digest)
	if _, err := os.Stat(dst); err == nil {
		return dst, nil // unpacked whole before (it is renamed into place)
	}
	ctx, cancel := context.WithTimeout(context.Background(), artifactFetchTimeout)
	defer cancel()
	path, release, err := c.cache.Get(ctx, r.Digest)
	if err != nil {
		return "", fmt.Errorf("fetch %s: %w", short(r.Digest), err)
	}
	defer release()
	if err := unpackReadOnly(path, dst); err != nil {
		return "", err
	}
	return dst, nil
}

// unpackReadOnly unpacks the archive at src into dst by way of a temporary
// sibling that is made read-only and then renamed, so dst is complete and
// read-only from the moment it exists. When another allocation won the race
// to unpack the same digest, its copy is used.
func unpackReadOnly(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), modeTraverse); err != nil { // perms.go
		return fmt.Errorf("make unpack dir: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), ".unpack-")
	if err != nil {
		return fmt.Errorf("make unpack dir: %w", err)
	}
	cleanup := func() {
		_ = makeWritable(tmp)
		_ = os.RemoveAll(tmp)
	}
	f, err := os.Open(src)
	if err != nil {
		cleanup()
		return err
	}
	_, err = archive.Extract(f, tmp, archive.Limits{})
	f.Close()
	if err != nil {
		cleanup()
		return fmt.Errorf("unpack %s: %w", short(filepath.Base(dst)), err)
	}
	if err := makeReadOnly(tmp); err != nil {
		cleanup()
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		cleanup()
		if _, serr := os.Stat(dst); serr == nil {
			return nil
		}
		return fmt.Errorf("move unpacked %s into place: %w", short(filepath.Base(dst)), err)
	}
	return nil
}

// makeReadOnly takes the write bits off every file and directory under
// root (symlinks have none of their own).
func makeReadOnly(root string) error {
	return chmodTree(root, func(m fs.FileMode, dir bool) fs.FileMode {
		if dir {
			return 0o555
		}
		return m.Perm()&^0o222 | 0o444
	})
}

// makeWritable gives the owner write access back, so a tree can be removed.
func makeWritable(root string) error {
	return chmodTree(root, func(m fs.FileMode, dir bool) fs.FileMode { return m.Perm() | 0o200 })
}

func chmodTree(root string, mode func(fs.FileMode, bool) fs.FileMode) error {
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		if d.IsDir() {
			dirs = append(dirs, p) // after their contents: a 0555 dir still lets us walk it
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.Chmod(p, mode(info.Mode(), false))
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("chmod %s: %w", root, err)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chmod(dirs[i], mode(0, true)); err != nil {
			return fmt.Errorf("chmod %s: %w", dirs[i], err)
		}
	}
	return nil
}

// artifactEnv adds NAI_DATASET_DIR / NAI_MODEL_DIR (the first one a job
// lists) and NAI_DATASET_DIR_<NAME> / NAI_MODEL_DIR_<NAME> for each.
func artifactEnv(env map[string]string, datasets, models []artifactDir) {
	for _, k := range []struct {
		prefix string
		dirs   []artifactDir
	}{{"NAI_DATASET_DIR", datasets}, {"NAI_MODEL_DIR", models}} {
		for i, d := range k.dirs {
			if i == 0 {
				env[k.prefix] = d.Dir
			}
			env[k.prefix+"_"+envName(d.Name)] = d.Dir
		}
	}
}

// uploadMetricsHistory uploads the whole metrics file (every line the job
// wrote) as a blob, so `nai job metrics -all` works after this node is
// gone. An absent or empty file uploads nothing.
func (r *allocRunner) uploadMetricsHistory(ctx context.Context) (string, error) {
	d, err := r.uploadFileBlob(ctx, r.dir.metricsPath())
	if err != nil {
		return "", fmt.Errorf("metrics history: %w", err)
	}
	return d, nil
}

// uploadFileBlob uploads one file of the alloc dir as a blob, retrying a
// few times while the servers are unreachable. A missing or empty file
// uploads nothing and returns "".
func (r *allocRunner) uploadFileBlob(ctx context.Context, path string) (string, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && fi.Size() == 0) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	b := newBackoff(100*time.Millisecond, 5*time.Second)
	for attempt := 0; ; attempt++ {
		f, err := os.Open(path)
		if err != nil {
			return "", err
		}
		info, err := r.c.api.UploadBlob(ctx, f)
		f.Close()
		if err == nil {
			return info.Digest, nil
		}
		if permanent(err) || attempt >= 5 {
			return "", fmt.Errorf("upload %s: %w", filepath.Base(path), err)
		}
		if !b.wait(ctx) {
			return "", ctx.Err()
		}
	}
}
