package snapshot

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nai-project/nai/structs"
)

// The entries of an archive, in order.
const (
	metaName  = "meta.json"
	stateName = "state.bin"
	sumsName  = "SHA256SUMS"
)

// Limits of what Read accepts beside the state.
const (
	maxMeta = 64 << 10
	maxSums = 4 << 10
)

// ErrInvalid marks an archive that Read refuses: not a snapshot, truncated,
// corrupt, or of a newer format.
var ErrInvalid = errors.New("invalid snapshot archive")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Write writes an archive of meta and exactly meta.Size bytes of state to
// w. A state shorter or longer than meta.Size is an error (and w then holds
// an archive that Read refuses).
func Write(w io.Writer, meta *structs.SnapshotMeta, state io.Reader) error {
	mb, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return fmt.Errorf("encode snapshot meta: %w", err)
	}
	mb = append(mb, '\n')
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	mod := meta.CreateTime
	if mod.IsZero() {
		mod = time.Unix(0, 0)
	}
	header := func(name string, size int64) error {
		return tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: mod, Typeflag: tar.TypeReg, Format: tar.FormatPAX})
	}
	metaSum := sha256.Sum256(mb)
	if err := header(metaName, int64(len(mb))); err != nil {
		return fmt.Errorf("write snapshot meta: %w", err)
	}
	if _, err := tw.Write(mb); err != nil {
		return fmt.Errorf("write snapshot meta: %w", err)
	}
	if err := header(stateName, meta.Size); err != nil {
		return fmt.Errorf("write snapshot state: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(tw, io.TeeReader(io.LimitReader(state, meta.Size), h))
	if err != nil {
		return fmt.Errorf("write snapshot state: %w", err)
	}
	if n != meta.Size {
		return fmt.Errorf("write snapshot state: the state ended after %d of %d bytes", n, meta.Size)
	}
	var extra [1]byte
	if k, _ := state.Read(extra[:]); k > 0 {
		return fmt.Errorf("write snapshot state: the state is longer than its size %d", meta.Size)
	}
	sums := fmt.Sprintf("%s  %s\n%s  %s\n", hex.EncodeToString(metaSum[:]), metaName, hex.EncodeToString(h.Sum(nil)), stateName)
	if err := header(sumsName, int64(len(sums))); err != nil {
		return fmt.Errorf("write snapshot sums: %w", err)
	}
	if _, err := io.WriteString(tw, sums); err != nil {
		return fmt.Errorf("write snapshot sums: %w", err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("finish snapshot archive: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("finish snapshot archive: %w", err)
	}
	return nil
}

// Read reads an archive from r, copies its state to state, and returns its
// meta once every check has passed. On any error, what was written to
// state must be thrown away; the error wraps ErrInvalid when the archive is
// at fault (rather than state's writer).
func Read(r io.Reader, state io.Writer) (*structs.SnapshotMeta, error) {
	gz, err := gzip.NewReader(bufio.NewReader(r))
	if err != nil {
		return nil, invalid("not a gzip stream (%v): expected a file written by `nai operator snapshot save`", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	next := func(want string, max int64) (*tar.Header, error) {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, invalid("the archive ends before %s: truncated", want)
		}
		if err != nil {
			return nil, invalid("reading the archive before %s: %v (truncated or corrupt)", want, err)
		}
		if hdr.Name != want {
			return nil, invalid("found %q where %s was expected", hdr.Name, want)
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil, invalid("%s is not a regular file", want)
		}
		if hdr.Size < 0 || (max > 0 && hdr.Size > max) {
			return nil, invalid("%s has %d bytes, more than the %d allowed", want, hdr.Size, max)
		}
		return hdr, nil
	}

	if _, err := next(metaName, maxMeta); err != nil {
		return nil, err
	}
	mb, err := io.ReadAll(tr)
	if err != nil {
		return nil, invalid("reading %s: %v (truncated or corrupt)", metaName, err)
	}
	metaSum := sha256.Sum256(mb)
	var meta structs.SnapshotMeta
	dec := json.NewDecoder(bytes.NewReader(mb))
	if err := dec.Decode(&meta); err != nil {
		return nil, invalid("%s is not valid: %v", metaName, err)
	}
	if meta.Format < 1 || meta.Format > structs.SnapshotFormat {
		return nil, invalid("format %d: this nai reads snapshot formats 1 to %d (a newer nai wrote it?)", meta.Format, structs.SnapshotFormat)
	}

	hdr, err := next(stateName, 0)
	if err != nil {
		return nil, err
	}
	if hdr.Size != meta.Size {
		return nil, invalid("%s has %d bytes, the meta says %d", stateName, hdr.Size, meta.Size)
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(state, h), &archiveReader{r: tr, name: stateName}); err != nil {
		return nil, err
	}
	stateSum := h.Sum(nil)

	if _, err := next(sumsName, maxSums); err != nil {
		return nil, err
	}
	sb, err := io.ReadAll(tr)
	if err != nil {
		return nil, invalid("reading %s: %v (truncated or corrupt)", sumsName, err)
	}
	sums, err := parseSums(sb)
	if err != nil {
		return nil, err
	}
	for name, got := range map[string][]byte{metaName: metaSum[:], stateName: stateSum} {
		want, ok := sums[name]
		if !ok {
			return nil, invalid("%s has no checksum of %s", sumsName, name)
		}
		if want != hex.EncodeToString(got) {
			return nil, invalid("the sha256 of %s is %s, the archive says %s: the file is corrupt", name, hex.EncodeToString(got), want)
		}
	}
	if _, err := tr.Next(); !errors.Is(err, io.EOF) {
		if err == nil {
			return nil, invalid("unexpected entries after %s", sumsName)
		}
		return nil, invalid("after %s: %v (corrupt)", sumsName, err)
	}
	// The gzip trailer (its CRC and length) is checked only when the
	// stream is read to its end.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return nil, invalid("the gzip stream is corrupt: %v", err)
	}
	return &meta, nil
}

// archiveReader tells errors of the archive (ErrInvalid) from errors of the
// writer the state is copied to.
type archiveReader struct {
	r    io.Reader
	name string
}

func (a *archiveReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = invalid("reading %s: %v (truncated or corrupt)", a.name, err)
	}
	return n, err
}

// parseSums reads "HEX  NAME" lines, as sha256sum writes them.
func parseSums(b []byte) (map[string]string, error) {
	out := map[string]string{}
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 {
			return nil, invalid("%s line %d is %q: expected \"SHA256  NAME\"", sumsName, i+1, line)
		}
		if _, err := hex.DecodeString(sum); err != nil {
			return nil, invalid("%s line %d: %q is not a hex sha256", sumsName, i+1, sum)
		}
		if _, dup := out[name]; dup {
			return nil, invalid("%s names %s twice", sumsName, name)
		}
		out[name] = sum
	}
	return out, nil
}
