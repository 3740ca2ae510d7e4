package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/internal/archive"
	"github.com/nai-project/nai/internal/ignore"
	"github.com/nai-project/nai/structs"
)

// Uploads and downloads: packing a folder, sending it to the blob store
// unless the servers hold it already, fetching and unpacking. On a
// terminal each step shows a progress bar on stderr; elsewhere (a pipe, a
// log file, a test) nothing but the one-line result is written.

// progress is a byte count shown as a bar (a spinner when the total is
// unknown). The zero value and a nil *progress show nothing.
type progress struct {
	mu  sync.Mutex
	bar *progressbar.ProgressBar
}

// newProgress shows a bar on w when w is a terminal.
func newProgress(w io.Writer, total int64, what string) *progress {
	if !isTerminal(w) || os.Getenv("NAI_NO_PROGRESS") != "" {
		return nil
	}
	if total <= 0 {
		total = -1
	}
	return &progress{bar: progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionUseIECUnits(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetPredictTime(total > 0),
	)}
}

func (p *progress) add(n int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.bar.Add64(n)
}

// atLeast moves the bar to n unless it is past it already (a retried
// chunk reads bytes again).
func (p *progress) atLeast(n int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n > p.bar.State().CurrentNum {
		_ = p.bar.Set64(n)
	}
}

// done clears the bar, so the result line takes its place.
func (p *progress) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.bar.Finish()
}

// progressReaderAt moves a bar as an upload reads its file.
type progressReaderAt struct {
	r io.ReaderAt
	p *progress
}

func (r progressReaderAt) ReadAt(b []byte, off int64) (int, error) {
	n, err := r.r.ReadAt(b, off)
	r.p.atLeast(off + int64(n))
	return n, err
}

// progressReader moves a bar as a download is read.
type progressReader struct {
	r io.Reader
	p *progress
}

func (r progressReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.p.add(int64(n))
	return n, err
}

// packed is a folder packed and sent (or found on the servers).
type packed struct {
	info *structs.BlobInfo
	st   archive.Stats
	// sent is false when the servers already held the blob.
	sent bool
	// tops is how many bytes each top-level entry of the folder holds.
	tops map[string]int64
}

// packAndSend packs src into a temporary file while hashing it, then
// uploads the file through a resumable session unless the servers already
// hold that digest. packErr is the packing's failure, err the upload's.
func packAndSend(ctx context.Context, cl *api.Client, src string, opts archive.PackOptions, errw io.Writer) (p *packed, packErr, err error) {
	tmp, err := os.CreateTemp("", "nai-upload-*.tar.gz")
	if err != nil {
		return nil, fmt.Errorf("temporary archive: %w", err), nil
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	p = &packed{tops: map[string]int64{}}
	bar := newProgress(errw, -1, "packing "+src)
	opts.Progress = func(name string, n int64) {
		top, _, _ := strings.Cut(name, "/")
		p.tops[top] += n
		bar.add(n)
	}
	h := sha256.New()
	p.st, packErr = archive.PackWith(io.MultiWriter(tmp, h), src, opts)
	bar.done()
	if packErr != nil {
		return nil, packErr, nil
	}
	size, err := tmp.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err, nil
	}
	digest := hex.EncodeToString(h.Sum(nil))
	held, err := cl.HasBlob(ctx, digest)
	if err != nil {
		return nil, nil, err
	}
	if held {
		p.info = &structs.BlobInfo{Digest: digest, Size: size}
		return p, nil, nil
	}
	bar = newProgress(errw, size, "uploading "+src)
	p.info, err = cl.UploadFile(ctx, progressReaderAt{r: tmp, p: bar}, size, digest, api.DefaultChunkSize, 5)
	bar.done()
	if err != nil {
		return nil, nil, err
	}
	p.sent = true
	return p, nil, nil
}

// describe is the result line of an upload: "Uploaded code ./src (12
// files, 3.1MiB) as sha256:...", or that nothing was sent.
func (p *packed) describe(what string) string {
	s := fmt.Sprintf("%s (%s, %s)", what, plural(p.st.Files, "file"), structs.FormatSize(p.st.Bytes))
	if !p.sent {
		return fmt.Sprintf("%s is already on the server as %s, nothing sent", capitalize(s), shortDigest(p.info.Digest))
	}
	return fmt.Sprintf("Uploaded %s as %s", s, shortDigest(p.info.Digest))
}

// maxCodeBytes bounds a code folder: code, not data (datasets are for data).
const maxCodeBytes = int64(2) << 30

// largeCodeBytes is the size past which a code upload warns: code is
// rarely that large, data and checkpoints are. (A variable for tests.)
var largeCodeBytes = int64(100) << 20

// uploadCode packs the job's code folder (honouring its .gitignore files
// and .naiignore, and leaving out the files nai writes there: see
// ignore.CodeDefaults and logIgnores) and sends it to the blob store
// unless the servers hold it already, returning its digest.
func uploadCode(ctx context.Context, cl *api.Client, dir string, jobs []*structs.Job, errw io.Writer) (string, error) {
	m, err := ignore.LoadCode(dir, logIgnores(dir, jobs)...)
	if err != nil {
		return "", fmt.Errorf("code folder %s: %w", dir, err)
	}
	p, packErr, err := packAndSend(ctx, cl, dir, archive.PackOptions{MaxBytes: maxCodeBytes, Ignore: m.Match}, errw)
	if packErr != nil {
		if errors.Is(packErr, archive.ErrTooLarge) {
			return "", fmt.Errorf("code folder %s is larger than %s (biggest files: %s): keep data in a dataset, list what is not code in %s/.naiignore: %w", dir, structs.FormatSize(maxCodeBytes), biggestFiles(dir, m, 5), dir, packErr)
		}
		return "", fmt.Errorf("pack code folder: %w", packErr)
	}
	if err != nil {
		return "", fmt.Errorf("upload code folder %s: %w", dir, err)
	}
	if p.st.Bytes > largeCodeBytes {
		fmt.Fprintf(errw, "Warning: code folder %s holds %s, more than %s; largest: %s. Keep data in a dataset (nai dataset push) and list the rest in %s or .gitignore.\n",
			dir, structs.FormatSize(p.st.Bytes), structs.FormatSize(largeCodeBytes), largestEntries(dir, p.tops, 3), ignore.FileName)
	}
	fmt.Fprintln(errw, p.describe("code "+dir))
	return p.info.Digest, nil
}

// logIgnores are ignore patterns for the log files the CLI writes for
// jobs (a logs block, #SBATCH --output/--error), relative to the working
// directory, where they fall inside the code folder dir: every job of
// that file and name, whatever its id ("slurm-%j.out": /slurm-*.out), so
// the logs of earlier runs are not uploaded as code again.
func logIgnores(dir string, jobs []*structs.Job) []string {
	wd, err := os.Getwd()
	if err != nil {
		return nil
	}
	var out []string
	for _, j := range jobs {
		if j.LogPaths == nil {
			continue
		}
		for _, p := range []string{j.LogPaths.Stdout, j.LogPaths.Stderr} {
			if p == "" || p == "/dev/null" {
				continue
			}
			if !filepath.IsAbs(p) {
				p = filepath.Join(wd, p)
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				continue
			}
			if g := "/" + logGlob(filepath.ToSlash(rel), j.Name); !slices.Contains(out, g) {
				out = append(out, g)
			}
		}
	}
	return out
}

// logGlob turns a log path with Slurm's %-sequences into an ignore
// pattern: %x is the job's name, %% a percent sign, any other sequence
// (the job id, the array task, the node) any text; the rest is literal.
func logGlob(p, name string) string {
	var b strings.Builder
	lit := func(s string) {
		for _, r := range s {
			if strings.ContainsRune(`*?[\`, r) {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
	}
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			lit(p[i : i+1])
			continue
		}
		j := i + 1
		for j < len(p) && p[j] >= '0' && p[j] <= '9' {
			j++
		}
		switch {
		case j >= len(p):
			lit(p[i:])
		case p[j] == '%':
			lit("%")
		case p[j] == 'x':
			lit(name)
		default:
			b.WriteString("*")
		}
		i = j
	}
	return b.String()
}

// largestEntries names the n top-level entries holding the most bytes,
// folders with a trailing "/": "data/ (250MiB), ckpt/ (40MiB)".
func largestEntries(dir string, tops map[string]int64, n int) string {
	type entry struct {
		name string
		size int64
	}
	var es []entry
	for k, v := range tops {
		es = append(es, entry{k, v})
	}
	slices.SortFunc(es, func(a, b entry) int {
		if c := cmp.Compare(b.size, a.size); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	var parts []string
	for _, e := range es[:min(n, len(es))] {
		name := e.name
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && fi.IsDir() {
			name += "/"
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", name, structs.FormatSize(e.size)))
	}
	return strings.Join(parts, ", ")
}

// download copies a stream to a temporary file in the folder that will
// hold dir, checks its sha256 (when digest is set) and only then unpacks
// it into dir (new or empty), so a corrupt or hostile download writes
// nothing. What it unpacks gets the modes of the user's own new files
// (the user's umask, as tar applies it), not those it was packed with (a
// job's outputs are written under umask 077). total (0: unknown) sizes
// the progress bar.
func download(open func() (io.ReadCloser, error), digest, dir string, total int64, what string, errw io.Writer) (archive.Stats, error) {
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return archive.Stats{}, fmt.Errorf("create %s: %w", parent, err)
	}
	tmp, err := os.CreateTemp(parent, ".nai-pull-*")
	if err != nil {
		return archive.Stats{}, fmt.Errorf("temporary file: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	rc, err := open()
	if err != nil {
		return archive.Stats{}, err
	}
	h := sha256.New()
	bar := newProgress(errw, total, "downloading "+what)
	_, err = io.Copy(io.MultiWriter(tmp, h), progressReader{r: rc, p: bar})
	bar.done()
	rc.Close()
	if err != nil {
		return archive.Stats{}, fmt.Errorf("download: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); digest != "" && got != digest {
		return archive.Stats{}, fmt.Errorf("download is corrupt: sha256 %s, expected %s", shortDigest(got), shortDigest(digest))
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return archive.Stats{}, err
	}
	st, err := archive.ExtractNew(tmp, dir, archive.Limits{}, archive.WithUmask(userUmask()))
	if err != nil && (errors.Is(err, archive.ErrUnsafe) || errors.Is(err, archive.ErrTooLarge)) {
		return st, fmt.Errorf("archive refused, nothing written: %w", err)
	}
	return st, err
}
