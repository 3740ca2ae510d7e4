//go:build !nai_cli

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// client { log_max }: a size caps each log file of an allocation, "0" is
// no cap (-1 to client.Config), unset is the client's default (0).
func TestAgentConfigLogMax(t *testing.T) {
	file := filepath.Join(t.TempDir(), "client.hcl")
	for _, tc := range []struct {
		line string
		want int64
		err  string
	}{
		{"", 0, ""},
		{"  log_max = \"2GiB\"\n", 2 << 30, ""},
		{"  log_max = \"0\"\n", -1, ""},
		{"  log_max = \"lots\"\n", 0, `client.log_max: "lots" is not a size`},
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
		if cfg.Client.LogMaxBytes != tc.want {
			t.Errorf("%q: LogMaxBytes %d, want %d", tc.line, cfg.Client.LogMaxBytes, tc.want)
		}
	}
}
