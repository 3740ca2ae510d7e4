//go:build !nai_cli

package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/urfave/cli/v2"
)

func TestLoadAgentConfig(t *testing.T) {
	full := defaultAgentConfig()
	full.NodeName, full.Datacenter, full.DataDir, full.BindAddr = "gpu-07", "dc1", "/var/lib/nai", "10.0.0.7"
	full.Server.Enabled, full.Server.BootstrapExpect, full.Server.NodeDownGrace = true, 3, 30*time.Second
	full.Server.CleanupDeadServers, full.Server.DeadServerThreshold = true, 30*time.Minute
	full.Client.Enabled, full.Client.ReservedCPU, full.Client.ReservedMemory = true, 1, 2<<30
	full.Join = []string{"10.0.0.1:4648"}
	full.Encrypt = "6EcAhT9Cl8mJtWOLumWOVg9LFjIrBc0Q4DYkEK3w1jU="

	over := *full
	over.NodeName, over.Ports.HTTP, over.Server.NodeDownGrace = "gpu-08", 5646, time.Second

	cases := []struct {
		name  string
		files []string
		want  *agentConfig
	}{
		{"defaults", nil, defaultAgentConfig()},
		{"the issue's example", []string{"testdata/agent/full.hcl"}, full},
		{"a later file wins field by field", []string{"testdata/agent/full.hcl", "testdata/agent/override.hcl"}, &over},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := loadAgentConfig(tc.files)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadAgentConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		file string
		want []string
	}{
		{"syntax", "testdata/agent/syntax.hcl", []string{"testdata/agent/syntax.hcl:3:10: Invalid expression"}},
		{"unknown block", "testdata/agent/unknown.hcl", []string{"testdata/agent/unknown.hcl:2:1:", `"servers"`}},
		{"bad values", "testdata/agent/badvalues.hcl", []string{
			`testdata/agent/badvalues.hcl:4:21: node_down_grace "soon" is not a positive duration`,
			`testdata/agent/badvalues.hcl:5:27: dead_server_threshold "never" is not a positive duration`,
			`testdata/agent/badvalues.hcl:6:21: blob_retention "0s" is not a positive duration such as "24h"`,
			`testdata/agent/badvalues.hcl:10:14: reserved memory "lots" is not a size`,
		}},
		{"unknown names and bad values at once", "testdata/agent/mixed.hcl", []string{
			`testdata/agent/mixed.hcl:3:3: Unsupported argument: An argument named "raft_multipler" is not expected here. Did you mean "raft_multiplier"?`,
			`testdata/agent/mixed.hcl:4:21: node_down_grace "30 seconds" is not a positive duration`,
			`testdata/agent/mixed.hcl:6:1: Unsupported block type: Blocks of type "clinet" are not expected here. Did you mean "client"?`,
		}},
		{"missing file", "testdata/agent/nope.hcl", []string{"nope.hcl", "no such file"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadAgentConfig([]string{tc.file})
			if err == nil {
				t.Fatal("bad file accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%s", w, err)
				}
			}
		})
	}
}

// parseAgentFlags runs the agent's flag set over args and returns the
// merged configuration.
func parseAgentFlags(t *testing.T, args ...string) (*agentConfig, error) {
	t.Helper()
	cmd := agentCommand()
	set := flag.NewFlagSet("agent", flag.ContinueOnError)
	for _, f := range cmd.Flags {
		if err := f.Apply(set); err != nil {
			t.Fatal(err)
		}
	}
	if err := set.Parse(args); err != nil {
		t.Fatal(err)
	}
	return agentConfigFrom(cli.NewContext(cli.NewApp(), set, nil))
}

func TestAgentFlags(t *testing.T) {
	t.Run("flags win over files", func(t *testing.T) {
		cfg, err := parseAgentFlags(t, "-config", "testdata/agent/full.hcl", "-node-name", "flagged",
			"-bind-addr", "127.0.0.1", "-join", "127.0.0.1:1", "-join", "127.0.0.1:2", "-node-down-grace", "2s", "-client=false", "-reserved-memory", "1GiB")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.NodeName != "flagged" || cfg.BindAddr != "127.0.0.1" || len(cfg.Join) != 2 || cfg.Server.NodeDownGrace != 2*time.Second ||
			cfg.Client.Enabled || cfg.Client.ReservedMemory != 1<<30 || cfg.Server.BootstrapExpect != 3 {
			t.Errorf("merged config: %+v", cfg)
		}
	})
	bad := []struct {
		name string
		args []string
		want string
	}{
		{"nothing enabled", []string{"-data-dir", "/tmp/x"}, "neither server nor client"},
		{"no data dir", []string{"-client"}, "data_dir is required"},
		{"server without expect or join", []string{"-server", "-data-dir", "/tmp/x"}, "bootstrap_expect"},
		{"unspecified bind", []string{"-client", "-data-dir", "/tmp/x", "-bind-addr", "0.0.0.0"}, "cannot be advertised"},
		{"bad key", []string{"-client", "-data-dir", "/tmp/x", "-encrypt", "abc"}, "nai operator keygen"},
		{"bad join", []string{"-client", "-data-dir", "/tmp/x", "-join", "nohost"}, `join address "nohost"`},
		{"bad grace", []string{"-client", "-data-dir", "/tmp/x", "-node-down-grace", "-1s"}, "-node-down-grace"},
		{"bad port", []string{"-client", "-data-dir", "/tmp/x", "-serf-port", "70000"}, "ports.serf 70000"},
		{"file and flag problems at once", []string{"-config", "testdata/agent/mixed.hcl", "-data-dir", "/tmp/x", "-node-down-grace", "soon"}, `raft_multipler"`},
		{"flag problems with file problems", []string{"-config", "testdata/agent/mixed.hcl", "-data-dir", "/tmp/x", "-node-down-grace", "soon"}, `-node-down-grace "soon"`},
		{"client without join", []string{"-client", "-data-dir", "/tmp/x"}, "a client needs join"},
		{"http port is the serf port", []string{"-client", "-join", "127.0.0.1:1", "-data-dir", "/tmp/x", "-http-port", "4648"}, "ports.http and ports.serf are both 4648"},
		{"raft port is the http port", []string{"-server", "-bootstrap-expect", "1", "-data-dir", "/tmp/x", "-raft-port", "4646"}, "ports.http and ports.raft are both 4646"},
		{"http addr on the serf port", []string{"-client", "-join", "127.0.0.1:1", "-data-dir", "/tmp/x", "-http-addr", "0.0.0.0:4648"}, "http_addr and ports.serf are both 4648"},
		{"raft multiplier too large", []string{"-server", "-bootstrap-expect", "1", "-data-dir", "/tmp/x", "-raft-multiplier", "50"}, "server.raft_multiplier 50 is out of range"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseAgentFlags(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// Every example cluster config loads and validates, so examples never rot;
// the README passes no secret on a command line, where ps shows it.
func TestExampleClusterConfigs(t *testing.T) {
	readme, err := os.ReadFile("../../examples/cluster/README.md")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(readme), "-acl-agent-token \"") {
		t.Error("examples/cluster/README.md passes the node token with -acl-agent-token: ps shows it to every local user")
	}
	files, err := filepath.Glob("../../examples/cluster/*.hcl")
	if err != nil || len(files) < 6 {
		t.Fatalf("example configs: %v, %v", files, err)
	}
	ports := map[int]string{}
	for _, f := range files {
		if filepath.Base(f) == "gossip.hcl" {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := parseAgentFlags(t, "-config", f, "-config", "../../examples/cluster/gossip.hcl")
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Encrypt == "" {
				t.Error("gossip.hcl did not set the key")
			}
			if cfg.Client.Enabled {
				// As the README starts a GPU host: its agent token in a
				// third file, mode 0600, never on the command line.
				tok := filepath.Join(t.TempDir(), "agent-token.hcl")
				if err := os.WriteFile(tok, []byte("acl {\n  agent_token = \"0123456789abcdefghijABCDEFGHIJ0123456789\"\n}\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				withTok, err := parseAgentFlags(t, "-config", f, "-config", "../../examples/cluster/gossip.hcl", "-config", tok)
				if err != nil {
					t.Fatalf("with the agent token file: %v", err)
				}
				if withTok.ACL.AgentToken == "" {
					t.Error("the agent token file set no agent token")
				}
			}
			for _, p := range []int{cfg.Ports.HTTP, cfg.Ports.Serf} {
				if other, dup := ports[p]; dup {
					t.Errorf("port %d is used by %s too", p, other)
				}
				ports[p] = f
			}
		})
	}
}

// The initial tokens of the acl block: servers only, long random secrets,
// the node token only with the management token.
func TestACLInitialTokens(t *testing.T) {
	const good = "0123456789abcdefghijABCDEFGHIJ+/=_"
	cases := []struct {
		name, acl string
		server    bool
		want      string // "" : valid
	}{
		{"both", `initial_management_token = "` + good + `"` + "\n" + `initial_node_token = "` + good + `x"`, true, ""},
		{"management only", `initial_management_token = "` + good + `"`, true, ""},
		{"short", `initial_management_token = "tooshort"`, true, "acl.initial_management_token has 8 characters"},
		{"spaces", `initial_management_token = "` + good + ` x"`, true, "has spaces"},
		{"node without management", `initial_node_token = "` + good + `"`, true, "needs acl.initial_management_token"},
		{"on a client", `initial_management_token = "` + good + `"`, false, "is for servers"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			role := "client {\n  enabled = true\n}\n"
			if tc.server {
				role = "server {\n  enabled = true\n  bootstrap_expect = 3\n}\n"
			}
			path := filepath.Join(t.TempDir(), "agent.hcl")
			src := "data_dir = \"/tmp/x\"\nnode_name = \"n\"\n" + role + "acl {\n  " + tc.acl + "\n}\n"
			if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := loadAgentConfig([]string{path})
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if cfg.serverACL().InitialManagementToken != good {
					t.Errorf("server ACL config = %+v", cfg.serverACL())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// The sample /etc/nai files of contrib/config load and validate, with ACLs
// on and root tasks refused.
func TestSampleConfigs(t *testing.T) {
	for _, f := range []string{"server.hcl", "client.hcl"} {
		t.Run(f, func(t *testing.T) {
			cfg, err := loadAgentConfig([]string{filepath.Join("../../contrib/config", f)})
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.validate(); err != nil {
				t.Fatal(err)
			}
			if !cfg.ACL.Enabled || cfg.Client.AllowRootTasks {
				t.Errorf("acl enabled %v, root tasks %v: want ACLs on and root tasks refused", cfg.ACL.Enabled, cfg.Client.AllowRootTasks)
			}
		})
	}
}

// tls { verify_https_client = false } lets HTTP callers in without a
// client certificate; by default (and = true) one is required.
func TestTLSVerifyHTTPSClient(t *testing.T) {
	for _, tc := range []struct {
		line         string
		wantOptional bool
	}{
		{"", false},
		{"verify_https_client = true", false},
		{"verify_https_client = false", true},
	} {
		path := filepath.Join(t.TempDir(), "agent.hcl")
		src := "data_dir = \"/tmp/x\"\nnode_name = \"n\"\ntls {\n  ca_file = \"ca.pem\"\n  " + tc.line + "\n}\n"
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadAgentConfig([]string{path})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.TLS.HTTPSClientCertOptional != tc.wantOptional {
			t.Errorf("%q: client certificate optional = %v, want %v", tc.line, cfg.TLS.HTTPSClientCertOptional, tc.wantOptional)
		}
	}
}
