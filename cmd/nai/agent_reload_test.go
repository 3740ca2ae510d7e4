//go:build !nai_cli

package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// recordingClient records the capacities a reload sets.
type recordingClient struct {
	mu   sync.Mutex
	sets [][2]float64
}

func (r *recordingClient) SetCapacity(cpu float64, mem int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sets = append(r.sets, [2]float64{cpu, float64(mem)})
}

const reloadBase = `
node_name = "gpu1"
data_dir  = "/var/lib/nai/client"
log_level = "info"
join      = ["10.0.0.1:4648"]
client {
  enabled = true
  reserved {
    cpu    = 1
    memory = "1GiB"
  }
}
`

// reloadFixture is an agent's reloader over one config file, as
// runClusterAgent makes it (16 cores and 64GiB on the host).
type reloadFixture struct {
	file   string
	r      *agentReloader
	client *recordingClient
	logs   *bytes.Buffer
	states []string
}

func newReloadFixture(t *testing.T) *reloadFixture {
	t.Helper()
	f := &reloadFixture{file: filepath.Join(t.TempDir(), "client.hcl"), client: &recordingClient{}, logs: &bytes.Buffer{}}
	f.write(t, reloadBase)
	load := func() (*agentConfig, error) { return parseAgentFlags(t, "-config", f.file) }
	cfg, err := load()
	if err != nil {
		t.Fatal(err)
	}
	level := new(slog.LevelVar)
	f.r = &agentReloader{
		load: load, cfg: cfg, level: level,
		logger: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: level})),
		client: f.client, hostCPU: 16, hostMemory: 64 << 30,
		notify: func(s string) { f.states = append(f.states, strings.SplitN(s, "\n", 2)[0]) },
	}
	return f
}

func (f *reloadFixture) write(t *testing.T, body string) {
	t.Helper()
	if err := os.WriteFile(f.file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReloadApplies(t *testing.T) {
	f := newReloadFixture(t)
	f.write(t, strings.NewReplacer(`log_level = "info"`, `log_level = "debug"`, `cpu    = 1`, `cpu    = 2.5`, `"1GiB"`, `"4GiB"`).Replace(reloadBase))
	if err := f.r.reload(); err != nil {
		t.Fatal(err)
	}
	if f.r.level.Level() != slog.LevelDebug {
		t.Errorf("log level %v after reload, want debug", f.r.level.Level())
	}
	if diff := cmp.Diff([][2]float64{{13.5, 60 << 30}}, f.client.sets); diff != "" {
		t.Errorf("capacity set (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"RELOADING=1", "READY=1"}, f.states); diff != "" {
		t.Errorf("service manager told (-want +got):\n%s", diff)
	}
	if f.r.cfg.LogLevel != "debug" || f.r.cfg.Client.ReservedCPU != 2.5 {
		t.Errorf("configuration in force not updated: %+v", f.r.cfg)
	}
	if !strings.Contains(f.logs.String(), "configuration reloaded") || !strings.Contains(f.logs.String(), "log_level info -> debug") {
		t.Errorf("log does not say what was applied:\n%s", f.logs)
	}

	// The same file again changes nothing.
	f.logs.Reset()
	if err := f.r.reload(); err != nil {
		t.Fatal(err)
	}
	if len(f.client.sets) != 1 || !strings.Contains(f.logs.String(), "nothing to change") {
		t.Errorf("an unchanged file set the capacity %d times; log:\n%s", len(f.client.sets), f.logs)
	}
}

func TestReloadBrokenConfigKeepsTheOld(t *testing.T) {
	cases := []struct {
		name, body, logged string
	}{
		{"syntax error", "log_level = \"debug\"\nclient {\n", "Unclosed configuration block"},
		{"invalid value", strings.Replace(reloadBase, `"info"`, `"loud"`, 1), "is unknown: expected debug, info, warn or error"},
		{"negative reservation", strings.Replace(reloadBase, `cpu    = 1`, `cpu    = -3`, 1), "client.reserved.cpu -3 is negative"},
		{"file removed", "", "no such file"},
		{"reservation above the host", strings.NewReplacer(`log_level = "info"`, `log_level = "debug"`, `cpu    = 1`, `cpu    = 99`, `"1GiB"`, `"100TiB"`).Replace(reloadBase),
			"client.reserved.cpu 99 is not below the host's 16 cores; client.reserved.memory 100TiB is not below the host's 64GiB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newReloadFixture(t)
			before := *f.r.cfg
			if tc.body == "" {
				os.Remove(f.file)
			} else {
				f.write(t, tc.body)
			}
			err := f.r.reload()
			if err == nil || !strings.Contains(err.Error(), tc.logged) {
				t.Fatalf("reload error %v, want one with %q", err, tc.logged)
			}
			if !strings.Contains(f.logs.String(), "reload failed: keeping the configuration in force") || !strings.Contains(f.logs.String(), tc.logged) {
				t.Errorf("the error is not logged:\n%s", f.logs)
			}
			if diff := cmp.Diff(&before, f.r.cfg); diff != "" {
				t.Errorf("configuration in force changed (-before +after):\n%s", diff)
			}
			if f.r.level.Level() != slog.LevelInfo || len(f.client.sets) != 0 {
				t.Errorf("a broken config changed the level (%v) or the capacity (%v)", f.r.level.Level(), f.client.sets)
			}
			if diff := cmp.Diff([]string{"RELOADING=1", "READY=1"}, f.states); diff != "" {
				t.Errorf("service manager told (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReloadRestartOnlySettings(t *testing.T) {
	f := newReloadFixture(t)
	f.write(t, strings.Replace(reloadBase, `node_name = "gpu1"`, "node_name = \"gpu9\"\nports {\n  http = 5000\n}", 1))
	if err := f.r.reload(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.logs.String(), `settings="node_name, ports"`) {
		t.Errorf("the log does not name the settings that wait for a restart:\n%s", f.logs)
	}
	if f.r.cfg.NodeName != "gpu1" || f.r.cfg.Ports.HTTP != 4646 {
		t.Errorf("restart-only settings were taken into the configuration in force: %+v", f.r.cfg)
	}
}

// The sample configurations installed as /etc/nai/*.hcl load and validate.
func TestContribSampleConfigs(t *testing.T) {
	for _, name := range []string{"server.hcl", "client.hcl"} {
		t.Run(name, func(t *testing.T) {
			cfg, err := parseAgentFlags(t, "-config", filepath.Join("../../contrib/config", name))
			if err != nil {
				t.Fatal(err)
			}
			role := strings.TrimSuffix(name, ".hcl")
			if cfg.Server.Enabled != (role == "server") || cfg.Client.Enabled != (role == "client") {
				t.Errorf("%s enables server=%t client=%t", name, cfg.Server.Enabled, cfg.Client.Enabled)
			}
			if cfg.DataDir != "/var/lib/nai/"+role {
				t.Errorf("data_dir %s, want /var/lib/nai/%s (the unit's StateDirectory)", cfg.DataDir, role)
			}
		})
	}
}

func TestCheckReservation(t *testing.T) {
	const host, mem = 2.0, int64(23.5 * (1 << 30))
	cases := []struct {
		name    string
		cpu     float64
		memory  int64
		wantErr string
	}{
		{"none", 0, 0, ""},
		{"some", 0.5, 256 << 20, ""},
		{"just below", 1.9, mem - 1, ""},
		{"all the cpu", 2, 0, "client.reserved.cpu 2 is not below the host's 2 cores: the node would offer nothing"},
		{"more memory than the host", 0, 100 << 40, "client.reserved.memory 100TiB is not below the host's 23.5GiB"},
		{"both", 99, 100 << 40, "client.reserved.cpu 99 is not below the host's 2 cores; client.reserved.memory 100TiB is not below the host's 23.5GiB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkReservation(host, mem, tc.cpu, tc.memory)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}
