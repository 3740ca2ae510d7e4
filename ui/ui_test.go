package ui

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h := Handler()
	for _, tc := range []struct {
		path, ctype, body string
	}{
		{"/", "text/html", `<main id="app">`},
		{"/js/app.js", "text/javascript", "export function loggedIn"},
		{"/style.css", "text/css", "--accent"},
		{"/js/", "text/html", `<main id="app">`},       // a folder: never listed
		{"/queue", "text/html", `<main id="app">`},     // a page's address
		{"/../../etc/passwd", "text/html", `id="app"`}, // cleaned, stays inside
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://x/"+strings.TrimPrefix(tc.path, "/"), nil))
		b, _ := io.ReadAll(rec.Body)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Content-Type"), tc.ctype) || !strings.Contains(string(b), tc.body) {
			t.Errorf("GET %s: %d %q, want %s with %q", tc.path, rec.Code, rec.Header().Get("Content-Type"), tc.ctype, tc.body)
		}
		if rec.Header().Get("Content-Security-Policy") == "" || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: security headers missing", tc.path)
		}
	}
}

// TestModulesResolve: every relative import of every module names a file
// that is embedded, so no page fails on a missing module.
func TestModulesResolve(t *testing.T) {
	root := FS()
	imp := regexp.MustCompile(`(?m)^import .* from '(\.[^']+)';|^import '(\.[^']+)';`)
	n := 0
	err := fs.WalkDir(root, "js", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		src, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		dir := p[:strings.LastIndex(p, "/")]
		for _, m := range imp.FindAllStringSubmatch(string(src), -1) {
			rel := m[1] + m[2]
			target := join(dir, rel)
			if _, err := fs.Stat(root, target); err != nil {
				t.Errorf("%s imports %s (%s): not embedded", p, rel, target)
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Errorf("found only %d imports", n)
	}
}

// join resolves a relative module path against a folder.
func join(dir, rel string) string {
	parts := strings.Split(dir, "/")
	for _, p := range strings.Split(rel, "/") {
		switch p {
		case ".":
		case "..":
			parts = parts[:len(parts)-1]
		default:
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "/")
}
