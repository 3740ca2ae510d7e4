package contrib

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nai-project/nai/internal/testtool"
)

// scripts are every shell script of the kit and of the build.
func scripts(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, pattern := range []string{"*/*.sh", "slurm-compat/*", "../scripts/*.sh"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	if len(out) < 7 {
		t.Fatalf("found only %d scripts: %v", len(out), out)
	}
	return out
}

func TestShellcheck(t *testing.T) {
	shellcheck := testtool.Need(t, "shellcheck", "shellcheck")
	for _, s := range scripts(t) {
		t.Run(s, func(t *testing.T) {
			if out, err := exec.Command(shellcheck, "--external-sources", s).CombinedOutput(); err != nil {
				t.Errorf("shellcheck %s: %v\n%s", s, err, out)
			}
		})
	}
}

func TestScriptsAreExecutable(t *testing.T) {
	for _, s := range scripts(t) {
		st, err := os.Stat(s)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode()&0o111 != 0o111 {
			t.Errorf("%s has mode %v: want it executable (chmod +x, and git add)", s, st.Mode())
		}
	}
}

// TestSystemdVerify runs systemd-analyze verify on the units in a root
// with the programs they name, as the .deb installs them.
func TestSystemdVerify(t *testing.T) {
	analyze := testtool.Need(t, "systemd-analyze", "systemd")
	root := t.TempDir()
	for _, dir := range []string{"usr/bin", "etc/systemd/system", "usr/lib/systemd"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The targets the units name (network-online.target, ...).
	if out, err := exec.Command("cp", "-a", "/usr/lib/systemd/system", filepath.Join(root, "usr/lib/systemd/")).CombinedOutput(); err != nil {
		t.Skipf("this host has no systemd unit directory to verify against: %v\n%s", err, out)
	}
	copyFile(t, "/usr/bin/kill", filepath.Join(root, "usr/bin/kill"), 0o755)
	if err := os.Symlink("usr/bin", filepath.Join(root, "bin")); err != nil {
		t.Fatal(err)
	}
	// Any executable stands in for nai: verify checks that it exists.
	copyFile(t, "/usr/bin/kill", filepath.Join(root, "usr/bin/nai"), 0o755)
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	copyFile(t, sh, filepath.Join(root, "usr/bin/sh"), 0o755)
	units := []string{"nai-server.service", "nai-client.service", "nai-snapshot.service", "nai-snapshot.timer"}
	for _, u := range units {
		copyFile(t, filepath.Join("systemd", u), filepath.Join(root, "etc/systemd/system", u), 0o644)
	}
	out, err := exec.Command(analyze, append([]string{"verify", "--root=" + root}, units...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// Unknown keys and bad values are warnings with exit status 0.
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "nai-") {
			t.Errorf("systemd-analyze verify: %s", line)
		}
	}
}

// unitSettings reads a unit file into section.key -> values.
func unitSettings(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: not key=value: %q", path, line)
			}
			out[section+"."+k] = append(out[section+"."+k], v)
		}
	}
	return out
}

// TestUnitContract checks the settings the agents rely on.
func TestUnitContract(t *testing.T) {
	common := map[string]string{
		"Service.Type":         "notify", // the agent sends READY=1 (cmd/nai/agent_reload.go)
		"Service.NotifyAccess": "main",
		"Service.ExecReload":   "/bin/kill -HUP $MAINPID",
		"Service.KillSignal":   "SIGTERM", // stop without leaving the cluster
		"Service.Restart":      "on-failure",
		"Install.WantedBy":     "multi-user.target",
	}
	cases := []struct {
		unit string
		want map[string]string
	}{
		{"nai-server.service", map[string]string{
			"Service.ExecStart":      "/usr/bin/nai agent -config /etc/nai/server.hcl",
			"Service.User":           "nai",
			"Service.StateDirectory": "nai/server",
		}},
		{"nai-client.service", map[string]string{
			"Service.ExecStart":      "/usr/bin/nai agent -config /etc/nai/client.hcl",
			"Service.Delegate":       "yes",     // the client owns its cgroup subtree
			"Service.KillMode":       "process", // jobs' executors survive an agent restart
			"Service.StateDirectory": "nai/client",
			"Service.TasksMax":       "infinity",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.unit, func(t *testing.T) {
			got := unitSettings(t, filepath.Join("systemd", tc.unit))
			for k, v := range common {
				if !slices.Equal(got[k], []string{v}) {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			for k, v := range tc.want {
				if !slices.Equal(got[k], []string{v}) {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			if tc.unit == "nai-client.service" {
				if _, ok := got["Service.User"]; ok {
					t.Error("the client must run as root (cgroups, GPU devices, jobs as their users)")
				}
			}
		})
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}
