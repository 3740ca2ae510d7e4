package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

func TestResolveAccessor(t *testing.T) {
	ts := []*structs.Token{
		{AccessorID: "3f2c9a1e-0000-4000-8000-000000000001"},
		{AccessorID: "3f2c9a1e-0000-4000-8000-000000000002"},
		{AccessorID: "a1b2c3d4-0000-4000-8000-000000000003"},
	}
	for _, tc := range []struct{ arg, want, err string }{
		{"a1b2c3d4", "a1b2c3d4-0000-4000-8000-000000000003", ""},
		{"3f2c9a1e-0000-4000-8000-000000000002", "3f2c9a1e-0000-4000-8000-000000000002", ""},
		{"3f2c9a1e", "", "ambiguous: it starts 3f2c9a1e-0000-4000-8000-000000000001, 3f2c9a1e-0000-4000-8000-000000000002"},
		{"a1b2", "", "too short"},
		{"ffffffff-0000-4000-8000-000000000009", "ffffffff-0000-4000-8000-000000000009", ""},
	} {
		got, err := resolveAccessor(ts, tc.arg)
		if got != tc.want || (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: %q, %v; want %q, %q", tc.arg, got, err, tc.want, tc.err)
		}
	}
}

func TestTokensMadeFrom(t *testing.T) {
	ts := []*structs.Token{
		{AccessorID: "root"}, {AccessorID: "a", MadeBy: "root"}, {AccessorID: "b", MadeBy: "a"},
		{AccessorID: "c", MadeBy: "root"}, {AccessorID: "other"},
	}
	if got := strings.Join(tokensMadeFrom(ts, "root"), ","); got != "a,c,b" {
		t.Errorf("made from root: %s", got)
	}
	if got := tokensMadeFrom(ts, "other"); len(got) != 0 {
		t.Errorf("made from other: %v", got)
	}
}

// An expired token, kept until the servers remove it, says so.
func TestFormatTokenListExpired(t *testing.T) {
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	ts := []*structs.Token{
		{AccessorID: "old", Name: "laptop", User: "bob", ExpirationTime: now.Add(-time.Hour), CreateTime: now.Add(-48 * time.Hour), MadeBy: "3f2c9a1e-0000-4000-8000-000000000001"},
		{AccessorID: "new", Name: "ci", User: "bob", ExpirationTime: now.Add(time.Hour), CreateTime: now.Add(-time.Hour)},
		{AccessorID: "forever", User: "bob"},
	}
	var b bytes.Buffer
	if err := formatTokenList(&b, ts, now); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if !strings.Contains(lines[1], "expired ") || !strings.Contains(lines[1], "3f2c9a1e") || strings.Contains(lines[2], "expired") || !strings.Contains(lines[3], "never") {
		t.Errorf("token list:\n%s", b.String())
	}
}
