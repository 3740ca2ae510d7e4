package main

import (
	"encoding/json"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/nai-project/nai/internal/version"
)

func TestVersionCommand(t *testing.T) {
	noServer(t)
	for _, args := range [][]string{{"version"}, {"-version"}} {
		code, stdout, stderr := runCLI(t, args...)
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if code != 0 || stderr != "" || len(lines) != 4 ||
			lines[0] != "nai "+version.Get().Version || !strings.HasPrefix(lines[1], "commit: ") || lines[2] != "go:     "+goruntime.Version()+" "+goruntime.GOOS+"/"+goruntime.GOARCH || lines[3] != "build:  full" {
			t.Errorf("nai %s: exit %d\nstdout:\n%s\nstderr: %s", args[0], code, stdout, stderr)
		}
	}
	code, stdout, _ := runCLI(t, "version", "-json")
	var got version.Info
	if err := json.Unmarshal([]byte(stdout), &got); code != 0 || err != nil || got.Version == "" || got.GoVersion != goruntime.Version() || got.Build != version.BuildFull {
		t.Errorf("nai version -json: exit %d, %v:\n%s", code, err, stdout)
	}
	if code, _, stderr := runCLI(t, "version", "extra"); code != 1 || !strings.Contains(stderr, "too many arguments") {
		t.Errorf("nai version extra: exit %d, stderr %q", code, stderr)
	}
}
