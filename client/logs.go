package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nai-project/nai/client/executor"
	"github.com/nai-project/nai/structs"
)

// logPoll is how often a followed log is checked for new bytes.
const logPoll = 100 * time.Millisecond

func writeError(w http.ResponseWriter, status int, e *structs.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(structs.ErrorBody{Error: e})
}

// localAlloc finds the dir of an allocation of this node named in the
// path, or answers not found.
func (c *Client) localAlloc(w http.ResponseWriter, r *http.Request) (allocDir, bool) {
	id := r.PathValue("id")
	dir := allocDir(filepath.Join(c.allocsDir(), id))
	if validAllocID(id) != nil || !exists(dir.path(allocFile)) {
		writeError(w, http.StatusNotFound, structs.NewError(structs.CodeNotFound, "allocation %q not found on this node", id))
		return "", false
	}
	return dir, true
}

func (c *Client) serveLogs(w http.ResponseWriter, r *http.Request) {
	dir, ok := c.localAlloc(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	typ := q.Get("type")
	if typ == "" {
		typ = "stdout"
	}
	if typ != "stdout" && typ != "stderr" {
		writeError(w, http.StatusBadRequest, structs.NewError(structs.CodeInvalid, "log type %q is unknown: expected stdout or stderr", typ))
		return
	}
	follow := false
	if v := q.Get("follow"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, structs.NewError(structs.CodeInvalid, "follow %q is not a boolean: expected true or false", v))
			return
		}
		follow = b
	}
	offset, limit, err := logWindow(q.Get("offset"), q.Get("limit"), follow)
	if err != nil {
		writeError(w, http.StatusBadRequest, structs.NewError(structs.CodeInvalid, "%v", err))
		return
	}
	var size int64
	if fi, err := os.Stat(dir.logPath(typ)); err == nil {
		size = fi.Size()
	}
	start, n := structs.LogRange(offset, limit, size)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set(structs.OffsetHeader, strconv.FormatInt(start, 10))
	w.Header().Set(structs.SizeHeader, strconv.FormatInt(size, 10))
	w.WriteHeader(http.StatusOK)
	if n >= 0 {
		if f, err := os.Open(dir.logPath(typ)); err == nil {
			defer f.Close()
			_, _ = io.Copy(w, io.NewSectionReader(f, start, n))
		}
		return
	}
	streamLog(r, w, dir, dir.logPath(typ), start, follow)
}

// logWindow reads a log request's ?offset= (negative: from the end) and
// ?limit= (bytes; not with follow).
func logWindow(off, lim string, follow bool) (offset, limit int64, err error) {
	if off != "" {
		if offset, err = strconv.ParseInt(off, 10, 64); err != nil {
			return 0, 0, fmt.Errorf("offset %q is invalid: expected a byte offset (negative: from the end)", off)
		}
	}
	if lim != "" {
		if limit, err = strconv.ParseInt(lim, 10, 64); err != nil || limit <= 0 {
			return 0, 0, fmt.Errorf("limit %q is invalid: expected a number of bytes above 0", lim)
		}
		if follow {
			return 0, 0, errors.New("limit and follow=true are alternatives: a followed log has no end")
		}
	}
	return offset, limit, nil
}

// streamLog copies the log from offset; following, it keeps sending what is
// appended until the allocation has ended and every byte is out, or the
// reader goes away.
func streamLog(r *http.Request, w io.Writer, dir allocDir, path string, offset int64, follow bool) {
	flusher, _ := w.(http.Flusher)
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	t := time.NewTicker(logPoll)
	defer t.Stop()
	buf := make([]byte, 32<<10)
	for {
		// Whether the allocation had ended is read before the file, so the
		// last bytes written before exit.json are never missed.
		ended := exists(dir.path(executor.ExitFile))
		if f == nil {
			var err error
			f, err = os.Open(path)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return
			}
			if f != nil {
				if _, err := f.Seek(offset, io.SeekStart); err != nil {
					return
				}
			}
		}
		if f != nil {
			for {
				n, err := f.Read(buf)
				if n > 0 {
					if _, werr := w.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil || n == 0 {
					break
				}
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if !follow || ended {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
	}
}
