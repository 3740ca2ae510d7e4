package contrib

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/nai-project/nai/internal/testtool"
)

// VagrantMachine is one VM of the Vagrantfile, as testdata/vagrantfile_dump.rb
// reports it.
type VagrantMachine struct {
	Name      string `json:"name"`
	Hostname  string `json:"hostname"`
	IP        string `json:"ip"`
	Provision []struct {
		Type string   `json:"type"`
		Path string   `json:"path"`
		Args []string `json:"args"`
	} `json:"provision"`
	PCI []map[string]string `json:"pci"`
}

// vagrantMachines loads the Vagrantfile (a copy, so that its gossip key
// lands in a temporary .vagrant/) with env added to the environment.
func vagrantMachines(t *testing.T, env ...string) []VagrantMachine {
	t.Helper()
	ruby := testtool.Need(t, "ruby", "ruby")
	dir := t.TempDir()
	copyFile(t, "../Vagrantfile", filepath.Join(dir, "Vagrantfile"), 0o644)
	cmd := exec.Command(ruby, filepath.Join(mustAbs(t, "testdata"), "vagrantfile_dump.rb"), filepath.Join(dir, "Vagrantfile"))
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("load the Vagrantfile: %v\n%s", err, msg)
	}
	var ms []VagrantMachine
	if err := json.Unmarshal(out, &ms); err != nil {
		t.Fatalf("decode %s: %v", out, err)
	}
	return ms
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// arg is the value after flag in args, or "".
func arg(args []string, flag string) string {
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

var (
	naiOnce sync.Once
	naiPath string
	naiErr  error
)

// naiBinary builds nai once for the tests of this package.
func naiBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary: skipped with -short")
	}
	naiOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nai-contrib-bin-")
		if err != nil {
			naiErr = err
			return
		}
		// As make build: the CLI, static, and beside it the agent and the
		// per-job executor.
		naiPath = filepath.Join(dir, "nai")
		for _, b := range []struct{ out, tags, cgo, pkg string }{
			{naiPath, "urfave_cli_no_docs nai_cli", "CGO_ENABLED=0", "./cmd/nai"},
			{filepath.Join(dir, "nai-agent"), "urfave_cli_no_docs", "CGO_ENABLED=1", "./cmd/nai"},
			{filepath.Join(dir, "nai-executor"), "urfave_cli_no_docs", "CGO_ENABLED=0", "./cmd/nai-executor"},
		} {
			build := exec.Command("go", "build", "-tags", b.tags,
				"-ldflags", "-X github.com/nai-project/nai/internal/version.version="+testVersion, "-o", b.out, b.pkg)
			build.Dir = ".."
			build.Env = append(os.Environ(), "CGO_CFLAGS=-O2 -g -Wno-deprecated-declarations", b.cgo)
			if out, err := build.CombinedOutput(); err != nil {
				naiErr = err
				naiPath = string(out)
				return
			}
		}
	})
	if naiErr != nil {
		t.Fatalf("build nai: %v\n%s", naiErr, naiPath)
	}
	return naiPath
}

// TestVagrantfile: three servers and two clients on distinct addresses,
// each provisioned by provision.sh with arguments it accepts; what it writes
// from them is checked here, and the cluster it makes runs in
// e2e/provision_long_test.go.
func TestVagrantfile(t *testing.T) {
	ms := vagrantMachines(t)
	var names []string
	roles := map[string]int{}
	ips := map[string]bool{}
	for _, m := range ms {
		names = append(names, m.Name)
		if ips[m.IP] {
			t.Errorf("%s: address %s used twice", m.Name, m.IP)
		}
		ips[m.IP] = true
		if len(m.Provision) != 1 || m.Provision[0].Type != "shell" || m.Provision[0].Path != "contrib/install/provision.sh" {
			t.Fatalf("%s: provisioners %+v, want one shell run of contrib/install/provision.sh", m.Name, m.Provision)
		}
		p := m.Provision[0].Args
		roles[arg(p, "--role")]++
		if arg(p, "--name") != m.Name || arg(p, "--bind") != m.IP || arg(p, "--encrypt") == "" || arg(p, "--binary") != "/vagrant/bin/nai" {
			t.Errorf("%s: provision args %q: want its own name and address, a gossip key and /vagrant/bin/nai", m.Name, p)
		}
		if len(m.PCI) != 0 {
			t.Errorf("%s: PCI devices %v without NAI_GPU_PASSTHROUGH", m.Name, m.PCI)
		}
	}
	if !slices.Equal(names, []string{"server1", "server2", "server3", "client1", "client2"}) || roles["server"] != 3 || roles["client"] != 2 {
		t.Fatalf("machines %v with roles %v: want three servers and two clients", names, roles)
	}
	if k := arg(ms[0].Provision[0].Args, "--encrypt"); k != arg(ms[4].Provision[0].Args, "--encrypt") {
		t.Errorf("the VMs have different gossip keys")
	}
	// ACLs: every server may make the management token (the first leader
	// does), every host knows the node token, and clients never see the
	// management token.
	mgmt, node := arg(ms[0].Provision[0].Args, "--management-token"), arg(ms[0].Provision[0].Args, "--node-token")
	if len(mgmt) < 32 || len(node) < 32 || mgmt == node {
		t.Errorf("server1: management token %q, node token %q: want two different secrets", mgmt, node)
	}
	for _, m := range ms {
		a := m.Provision[0].Args
		if arg(a, "--node-token") != node {
			t.Errorf("%s: a different node token", m.Name)
		}
		if server := arg(a, "--role") == "server"; server != (arg(a, "--management-token") == mgmt) || !server && slices.Contains(a, "--management-token") {
			t.Errorf("%s: args %q: want the management token on servers only", m.Name, a)
		}
	}

	bin := naiBinary(t)
	for _, m := range ms {
		t.Run(m.Name, func(t *testing.T) {
			root := t.TempDir()
			args := slices.Clone(m.Provision[0].Args)
			args[slices.Index(args, "--binary")+1] = bin
			args = append(args, "--root", root)
			out, err := exec.Command("install/provision.sh", args...).CombinedOutput()
			if err != nil {
				t.Fatalf("provision.sh %q: %v\n%s", args, err, out)
			}
			role := arg(args, "--role")
			cfg, err := os.ReadFile(filepath.Join(root, "etc/nai", role+".hcl"))
			if err != nil {
				t.Fatal(err)
			}
			want := []string{`node_name  = "` + m.Name + `"`, `bind_addr  = "` + m.IP + `"`, `data_dir   = "` + root + `/var/lib/nai/` + role + `"`, "encrypt    = ",
				"acl {\n  enabled = true\n"}
			mode := os.FileMode(0o600) // the client's file holds its token
			if role == "server" {
				want = append(want, "bootstrap_expect = 3", `initial_management_token = "`+mgmt+`"`, `initial_node_token       = "`+node+`"`)
				mode = 0o640
				fi, err := os.Stat(filepath.Join(root, "etc/nai/management.token"))
				if b, _ := os.ReadFile(filepath.Join(root, "etc/nai/management.token")); err != nil || fi.Mode().Perm() != 0o600 || strings.TrimSpace(string(b)) != mgmt {
					t.Errorf("etc/nai/management.token: %v, %v: want the management token, mode 0600", fi, err)
				}
			} else {
				want = append(want, "dev_gpus = 2", `agent_token = "`+node+`"`) // auto: no GPU on this machine
				if _, err := os.Stat(filepath.Join(root, "etc/nai/management.token")); !os.IsNotExist(err) {
					t.Errorf("a client has etc/nai/management.token (%v)", err)
				}
			}
			if fi, err := os.Stat(filepath.Join(root, "etc/nai", role+".hcl")); err != nil || fi.Mode().Perm() != mode {
				t.Errorf("%s.hcl: %v, %v: want mode %04o", role, fi, err, mode)
			}
			for _, w := range want {
				if !strings.Contains(string(cfg), w) {
					t.Errorf("%s.hcl lacks %q:\n%s", role, w, cfg)
				}
			}
			if strings.Contains(string(cfg), `"`+m.IP+`:4648"`) {
				t.Errorf("%s.hcl joins itself:\n%s", role, cfg)
			}
			env, err := os.ReadFile(filepath.Join(root, "etc/environment"))
			if err != nil || !strings.Contains(string(env), "NAI_ADDR=http://"+m.IP+":4646\n") {
				t.Errorf("etc/environment: %q (%v): want NAI_ADDR of the local agent", env, err)
			}
		})
	}
}

func TestVagrantfilePassthrough(t *testing.T) {
	ms := vagrantMachines(t, "NAI_GPU_PASSTHROUGH=client2=0000:3b:00.0+0000:86:00.0", "NAI_SUBNET=10.9.8")
	c2 := ms[4]
	if c2.Name != "client2" || len(c2.PCI) != 2 || c2.PCI[1]["bus"] != "0x86" || c2.IP != "10.9.8.22" {
		t.Fatalf("client2: %+v: want two PCI devices and the address in NAI_SUBNET", c2)
	}
	if a := c2.Provision[0].Args; arg(a, "--dev-gpus") != "0" || !slices.Contains(a, "--install-nvidia-driver") {
		t.Errorf("client2 with passthrough: args %q: want the real GPUs and the driver", a)
	}
	if a := ms[3].Provision[0].Args; arg(a, "--dev-gpus") != "auto" || len(ms[3].PCI) != 0 {
		t.Errorf("client1 without passthrough: args %q, PCI %v", a, ms[3].PCI)
	}
}

// Bad settings stop Vagrant with a message that says what was expected.
func TestVagrantfileBadSettings(t *testing.T) {
	ruby := testtool.Need(t, "ruby", "ruby")
	cases := []struct{ env, want string }{
		{"NAI_GPU_PASSTHROUGH=client9=0000:3b:00.0", `names "client9": expected one of the clients client1, client2`},
		{"NAI_GPU_PASSTHROUGH=client1=3b:00", `"3b:00" is not a PCI address such as 0000:3b:00.0`},
		{"NAI_GPU_PASSTHROUGH=client1", "expected NAME=DDDD:BB:SS.F"},
		{"NAI_VM_MEMORY=lots", "invalid value for Integer"},
	}
	for _, tc := range cases {
		t.Run(tc.env, func(t *testing.T) {
			dir := t.TempDir()
			copyFile(t, "../Vagrantfile", filepath.Join(dir, "Vagrantfile"), 0o644)
			cmd := exec.Command(ruby, mustAbs(t, "testdata/vagrantfile_dump.rb"), filepath.Join(dir, "Vagrantfile"))
			cmd.Env = append(os.Environ(), tc.env)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Errorf("%s: %v\n%s\nwant an error with %q", tc.env, err, out, tc.want)
			}
		})
	}
}

// TestProvisionSecretsFromFiles: provision.sh takes its secrets from files
// (--encrypt-file, --management-token-file, --node-token-file), so that
// they are not in `ps` while it runs, and says which file is missing or
// empty.
func TestProvisionSecretsFromFiles(t *testing.T) {
	bin := naiBinary(t)
	dir := t.TempDir()
	write := func(name, v string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := "c2VjcmV0LWdvc3NpcC1rZXktMzItYnl0ZXMtbG9uZyE="
	mgmt, node := "mgmt-secret-from-a-file-0123456789", "node-secret-from-a-file-0123456789"
	root := t.TempDir()
	args := []string{"--role", "server", "--name", "s1", "--bind", "127.0.0.1", "--binary", bin, "--root", root,
		"--encrypt-file", write("gossip.key", key+"\n"), "--management-token-file", write("mgmt", mgmt+"\nsecond line ignored\n"),
		"--node-token-file", write("node", node)}
	if out, err := exec.Command("install/provision.sh", args...).CombinedOutput(); err != nil {
		t.Fatalf("provision.sh %q: %v\n%s", args, err, out)
	}
	cfg, err := os.ReadFile(filepath.Join(root, "etc/nai/server.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`encrypt    = "` + key + `"`, `initial_management_token = "` + mgmt + `"`, `initial_node_token       = "` + node + `"`} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("server.hcl lacks %s:\n%s", want, cfg)
		}
	}
	for _, bad := range []struct{ flag, file, want string }{
		{"--node-token-file", filepath.Join(dir, "nosuch"), "--node-token-file: cannot read"},
		{"--management-token-file", write("empty", ""), "--management-token-file: " + filepath.Join(dir, "empty") + " is empty"},
	} {
		out, err := exec.Command("install/provision.sh", "--role", "server", "--name", "s1", "--bind", "127.0.0.1", "--binary", bin, "--root", t.TempDir(), bad.flag, bad.file).CombinedOutput()
		if err == nil || !strings.Contains(string(out), bad.want) {
			t.Errorf("%s %s: %v\n%s\nwant an error with %q", bad.flag, bad.file, err, out, bad.want)
		}
	}
}

// provision.sh refuses a server without a gossip key: with ACLs on (as it
// writes them) a server needs encrypt to authenticate raft, and would
// refuse to start.
func TestProvisionServerNeedsEncrypt(t *testing.T) {
	root := t.TempDir()
	out, err := exec.Command("install/provision.sh", "--role", "server", "--name", "s1", "--bind", "127.0.0.1", "--root", root).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--encrypt (or --encrypt-file) is required for servers") {
		t.Fatalf("provision.sh of a server without --encrypt: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/nai/server.hcl")); !os.IsNotExist(err) {
		t.Errorf("it wrote a configuration anyway (%v)", err)
	}
}

// provision.sh writes a server's /etc/nai/snapshot.env (0600), where
// nai-snapshot.service reads NAI_ADDR and its token file (a unit does not
// read /etc/environment, and the CLI's default address is not where the
// agent listens); a second run keeps the TLS lines an operator added and
// turns the address to https. A client gets none.
func TestProvisionSnapshotEnv(t *testing.T) {
	unit := unitSettings(t, "systemd/nai-snapshot.service")
	if ef := unit["Service.EnvironmentFile"]; len(ef) != 1 || ef[0] != "-/etc/nai/snapshot.env" {
		t.Fatalf("nai-snapshot.service EnvironmentFile = %q, want -/etc/nai/snapshot.env", ef)
	}
	bin := naiBinary(t)
	key := "c2VjcmV0LWdvc3NpcC1rZXktMzItYnl0ZXMtbG9uZyE="
	root := t.TempDir()
	run := func(role string) {
		t.Helper()
		args := []string{"--role", role, "--name", "s1", "--bind", "10.0.0.1", "--binary", bin, "--root", root, "--encrypt", key}
		if out, err := exec.Command("install/provision.sh", args...).CombinedOutput(); err != nil {
			t.Fatalf("provision.sh %q: %v\n%s", args, err, out)
		}
	}
	run("server")
	path := filepath.Join(root, "etc/nai/snapshot.env")
	read := func() string {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("snapshot.env: %v, %v: want mode 0600", fi, err)
		}
		b, _ := os.ReadFile(path)
		return string(b)
	}
	env := read()
	for _, want := range []string{"\nNAI_ADDR=http://10.0.0.1:4646\n", "\nNAI_TOKEN_FILE=" + root + "/etc/nai/management.token\n", "#NAI_CACERT="} {
		if !strings.Contains(env, want) {
			t.Errorf("snapshot.env lacks %q:\n%s", want, env)
		}
	}
	tls := "NAI_CACERT=/etc/nai/tls/ca.pem\nNAI_CLIENT_CERT=/etc/nai/tls/cli.pem\nNAI_CLIENT_KEY=/etc/nai/tls/cli-key.pem\nNAI_SNAPSHOT_KEEP_DAYS=30\n"
	if err := os.WriteFile(path, []byte(env+tls), 0o600); err != nil {
		t.Fatal(err)
	}
	run("server")
	env = read()
	for _, want := range []string{"\nNAI_ADDR=https://10.0.0.1:4646\n", "\n" + tls} {
		if !strings.Contains(env, want) {
			t.Errorf("after a second run snapshot.env lacks %q:\n%s", want, env)
		}
	}
	if strings.Count(env, "NAI_ADDR=") != 1 || strings.Contains(env, "#NAI_CACERT") {
		t.Errorf("after a second run:\n%s", env)
	}

	croot := t.TempDir()
	root = croot
	run("client")
	if _, err := os.Stat(filepath.Join(croot, "etc/nai/snapshot.env")); !os.IsNotExist(err) {
		t.Errorf("a client has etc/nai/snapshot.env (%v)", err)
	}
}
