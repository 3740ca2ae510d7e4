package structs

import (
	"errors"
	"strings"
	"testing"
)

func TestParseArtifactRef(t *testing.T) {
	tests := []struct {
		in, name, version, err string
	}{
		{in: "digits", name: "digits", version: "latest"},
		{in: "digits:3", name: "digits", version: "3"},
		{in: "d.v1:latest", name: "d.v1", version: "latest"},
		{in: "my data:1", err: "name \"my data\" is invalid"},
		{in: "a/b", err: "is invalid"},
		{in: "d:0", err: "version \"0\" is invalid"},
		{in: "d:x", err: "version \"x\" is invalid"},
		{in: "", err: "is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			name, version, err := ParseArtifactRef(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || name != tt.name || version != tt.version {
				t.Errorf("got %q %q %v", name, version, err)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	a := &Artifact{Kind: KindDataset, Name: "d", Versions: []*ArtifactVersion{{Version: 1}, {Version: 3}}}
	for in, want := range map[string]int{"": 3, "latest": 3, "1": 1, "3": 3} {
		if v, err := a.Resolve(in); err != nil || v.Version != want {
			t.Errorf("Resolve(%q) = %v, %v; want %d", in, v, err, want)
		}
	}
	if _, err := a.Resolve("2"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "has no version 2 (it has 1, 3)") {
		t.Errorf("Resolve of a removed version: %v", err)
	}
	empty := &Artifact{Kind: KindModel, Name: "m"}
	if _, err := empty.Resolve("latest"); !errors.Is(err, ErrNotFound) {
		t.Errorf("latest of nothing: %v", err)
	}
	c := a.Copy()
	c.Versions[0].Version = 9
	if a.Versions[0].Version != 1 {
		t.Error("Copy shares versions")
	}
}
