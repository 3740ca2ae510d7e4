package client

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadWholeLines(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "metrics.jsonl")
	if err := os.WriteFile(p, []byte("{\"a\":1}\n{\"a\":2}\n{\"a\":"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name          string
		path          string
		offset, limit int64
		want          string
		next          int64
	}{
		{"whole lines only", p, 0, 1 << 20, "{\"a\":1}\n{\"a\":2}\n", 16},
		{"from the second line", p, 8, 1 << 20, "{\"a\":2}\n", 16},
		{"at the partial line", p, 16, 1 << 20, "", 16},
		{"limit cuts at a line", p, 0, 12, "{\"a\":1}\n", 8},
		{"not written yet", filepath.Join(dir, "none"), 0, 1 << 20, "", 0},
		{"past the end", p, 100, 1 << 20, "", 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, next, err := readWholeLines(tc.path, tc.offset, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want || next != tc.next {
				t.Errorf("got %q next %d, want %q next %d", b, next, tc.want, tc.next)
			}
		})
	}
}

func TestClientLogWindow(t *testing.T) {
	for _, tc := range []struct {
		off, lim      string
		follow        bool
		offset, limit int64
		err           string
	}{
		{"", "", false, 0, 0, ""},
		{"-100", "", true, -100, 0, ""},
		{"5", "10", false, 5, 10, ""},
		{"x", "", false, 0, 0, "offset"},
		{"", "-3", false, 0, 0, "limit"},
		{"", "3", true, 0, 0, "alternatives"},
	} {
		off, lim, err := logWindow(tc.off, tc.lim, tc.follow)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("offset %q limit %q: error %v, want one about %s", tc.off, tc.lim, err, tc.err)
			}
			continue
		}
		if err != nil || off != tc.offset || lim != tc.limit {
			t.Errorf("offset %q limit %q: %d %d %v", tc.off, tc.lim, off, lim, err)
		}
	}
}
