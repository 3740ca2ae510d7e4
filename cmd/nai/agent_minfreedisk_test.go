//go:build !nai_cli

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// client { min_free_disk }: a size is the data dir's floor for jobs to
// start, "0" turns the check off (-1 to client.Config), unset is the
// client's default (0).
func TestAgentConfigMinFreeDisk(t *testing.T) {
	file := filepath.Join(t.TempDir(), "client.hcl")
	for _, tc := range []struct {
		line string
		want int64
		err  string
	}{
		{"", 0, ""},
		{"  min_free_disk = \"20GiB\"\n", 20 << 30, ""},
		{"  min_free_disk = \"0\"\n", -1, ""},
		{"  min_free_disk = \"some\"\n", 0, `client.min_free_disk: "some" is not a size`},
	} {
		body := "node_name = \"gpu1\"\ndata_dir = \"/var/lib/nai\"\njoin = [\"10.0.0.1:4648\"]\nclient {\n  enabled = true\n" + tc.line + "}\n"
		if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := parseAgentFlags(t, "-config", file)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.line, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tc.line, err)
		}
		if cfg.Client.MinFreeDisk != tc.want {
			t.Errorf("%q: MinFreeDisk %d, want %d", tc.line, cfg.Client.MinFreeDisk, tc.want)
		}
	}
}
