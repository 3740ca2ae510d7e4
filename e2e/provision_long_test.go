package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nai-project/nai/internal/testtool"
	"github.com/nai-project/nai/structs"
)

// The Vagrantfile's cluster without Vagrant: its three servers and two GPU
// clients, each in its own network namespace (its own "host", with its own
// address on one bridge), provisioned by contrib/install/provision.sh with
// the arguments the Vagrantfile gives it (read by loading the Vagrantfile
// in Ruby with a stand-in for Vagrant), into its own root folder, and
// started with the command line of the installed systemd unit, with
// $NOTIFY_SOCKET as systemd would set it. ACLs are on, as provisioned: the
// first leader makes the management and node tokens of the Vagrantfile's
// arguments, the clients register with the node token, and an operator
// with the management token (/etc/nai/management.token on a server) makes a
// user whose tasks run as the unprivileged account nobody (root tasks stay
// refused). With that user's token a two-node job then runs across both
// clients, its ranks talking to each other over the namespaces' network,
// and `nai node status -self` on a client shows its GPUs.
//
// NAI_LONG=1 (make test-long), as root: it needs `ip netns`.

// provNode is one "host" of the cluster.
type provNode struct {
	name, role, addr string
	args             []string // provision.sh's, from the Vagrantfile
	ns               string   // network namespace
	env              []string // added to the CLI's environment (a token)
	nsenter          string
	root             string // provision.sh --root
	cmd              *exec.Cmd
	logs             *testtool.Buffer
	done             chan struct{}
	notify           *notifySocket
}

func TestLongProvisionedCluster(t *testing.T) {
	if os.Getenv("NAI_LONG") == "" {
		t.Skip("long test: set NAI_LONG=1 (make test-long)")
	}
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces (ip netns add)")
	}
	ip := testtool.Need(t, "ip", "iproute2")
	nsenter := testtool.Need(t, "nsenter", "util-linux")
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Dir(filepath.Dir(file))

	// Names unique to this run, so parallel runs and leftovers of a killed
	// run do not collide. The addresses exist only inside these namespaces:
	// the bridge's namespace has no uplink.
	prefix := fmt.Sprintf("nai%d", os.Getpid()%100000)
	subnet := fmt.Sprintf("10.%d.%d", 100+os.Getpid()%100, os.Getpid()/100%250)
	var nodes []*provNode
	for _, m := range vagrantMachines(t, repo, "NAI_SUBNET="+subnet) {
		if len(m.Provision) != 1 {
			t.Fatalf("%s: %d provisioners, want one", m.Name, len(m.Provision))
		}
		a := m.Provision[0].Args
		role := ""
		if i := slices.Index(a, "--role"); i >= 0 && i+1 < len(a) {
			role = a[i+1]
		}
		nodes = append(nodes, &provNode{name: m.Name, role: role, addr: m.IP, args: a})
	}
	if len(nodes) != 5 || nodes[0].role != "server" || nodes[3].role != "client" || nodes[4].role != "client" {
		t.Fatalf("the Vagrantfile's machines: %+v; want server1-3, client1-2", nodes)
	}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	sw := prefix + "-sw"
	run("netns", "add", sw)
	t.Cleanup(func() { _ = exec.Command(ip, "netns", "del", sw).Run() })
	run("-n", sw, "link", "add", "br0", "type", "bridge")
	run("-n", sw, "link", "set", "br0", "up")
	for i, n := range nodes {
		n.ns = prefix + "-" + n.name
		run("netns", "add", n.ns)
		t.Cleanup(func() { _ = exec.Command(ip, "netns", "del", n.ns).Run() })
		port := fmt.Sprintf("p%d", i)
		run("-n", sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", n.ns)
		run("-n", sw, "link", "set", port, "master", "br0", "up")
		run("-n", n.ns, "addr", "add", n.addr+"/24", "dev", "eth0")
		run("-n", n.ns, "link", "set", "eth0", "up")
		run("-n", n.ns, "link", "set", "lo", "up")
	}

	// Provision every host as the Vagrantfile does, each into its own root,
	// with the binary under test in place of /vagrant/bin/nai.
	for _, n := range nodes {
		n.root = filepath.Join(t.TempDir(), n.name)
		args := slices.Clone(n.args)
		i := slices.Index(args, "--binary")
		if i < 0 || i+1 >= len(args) {
			t.Fatalf("%s: the Vagrantfile gives provision.sh no --binary: %q", n.name, args)
		}
		args[i+1] = naiBin
		args = append(args, "--root", n.root, "--node-down-grace", clusterGrace)
		out, err := exec.Command(filepath.Join(repo, "contrib/install/provision.sh"), args...).CombinedOutput()
		if err != nil {
			t.Fatalf("provision %s: %v\n%s", n.name, err, out)
		}
		t.Logf("provision %s:\n%s", n.name, out)
	}

	// The tasks' account walks down to its work dirs under the clients'
	// roots, as it does through /var/lib/nai/client (0711) on a host.
	for _, n := range nodes {
		for d := filepath.Join(n.root, "var/lib/nai/client"); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
			if n.role != "client" {
				break
			}
			if err := os.Chmod(d, 0o711); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		}
	}

	// Start each agent as its unit would, in its namespace.
	for _, n := range nodes {
		n.nsenter = nsenter
		n.start(t)
	}
	for _, n := range nodes {
		n.notify.waitStates(t, "READY=1")
	}
	client1, client2 := nodes[3], nodes[4]
	// The operator's token, as provision.sh kept it on the servers.
	mgmtFile := filepath.Join(nodes[0].root, "etc/nai/management.token")
	if fi, err := os.Stat(mgmtFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the management token file: %v, %v: want it kept for root alone", fi, err)
	}
	for _, n := range nodes {
		n.env = []string{"NAI_TOKEN_FILE=" + mgmtFile}
	}
	waitFor(t, 90*time.Second, "the cluster has a leader", func() bool {
		_, errOut, code := client1.naiAs(t, "", "node", "list")
		return code != 0 && strings.Contains(errOut, "needs a token")
	})

	// The CLI as an operator on a host uses it: NAI_ADDR from
	// /etc/environment, the agent reached over the namespace's network.
	waitFor(t, 90*time.Second, "three servers with a leader and two ready GPU nodes", func() bool {
		var members []structs.AgentMember
		if out, _, code := client1.nai(t, "server", "members", "-json"); code != 0 || json.Unmarshal([]byte(out), &members) != nil {
			return false
		}
		leaders := 0
		for _, m := range members {
			if m.Leader {
				leaders++
			}
		}
		var ns []*structs.Node
		if out, _, code := client2.nai(t, "node", "list", "-json"); code != 0 || json.Unmarshal([]byte(out), &ns) != nil {
			return false
		}
		ready := 0
		for _, nd := range ns {
			if nd.Status == structs.NodeReady && len(nd.GPUs) == 2 {
				ready++
			}
		}
		return len(members) == 3 && leaders == 1 && ready == 2
	})

	out, errOut, code := client1.nai(t, "node", "status", "-self")
	if code != 0 || !strings.Contains(out, "client1") || !strings.Contains(out, "GPU-") {
		t.Errorf("nai node status -self on client1 exited %d:\n%s%s", code, out, errOut)
	}
	t.Logf("nai node status -self on client1:\n%s", out)

	// A two-node job: rank 0 listens on MASTER_ADDR:MASTER_PORT, rank 1
	// connects across the namespaces and says hello, as torchrun's
	// rendezvous would.
	// Each rank also appends its line to a file beside the script: `nai
	// job logs` shows one allocation's output.
	script := `import os, socket, sys, time
rank = int(os.environ["NODE_RANK"]); addr = os.environ["MASTER_ADDR"]; port = int(os.environ["MASTER_PORT"])
me = os.environ["NAI_NODE_NAME"]
def say(line):
    print(line, flush=True)
    with open(os.path.join(os.path.dirname(sys.argv[0]), "ranks"), "a") as f:
        f.write(line + "\n")
if rank == 0:
    s = socket.create_server(("", port)); s.settimeout(60)
    c, peer = s.accept(); msg = c.recv(100).decode()
    say(f"rank 0 on {me} at {addr}:{port} heard: {msg}")
else:
    for _ in range(600):
        try:
            c = socket.create_connection((addr, port), timeout=2); break
        except OSError:
            time.sleep(0.1)
    else:
        raise SystemExit(f"rank 1 on {me} cannot reach {addr}:{port}")
    c.sendall(f"hello from rank 1 on {me}".encode())
    say(f"rank 1 on {me} reached {addr}:{port}")
`
	testtool.Need(t, "python3", "python3")
	// The task runs as nobody: a python3 of the system, not one in
	// root's home.
	python := ""
	for _, p := range []string{"/usr/bin/python3", "/usr/local/bin/python3"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o001 != 0 {
			python = p
			break
		}
	}
	if python == "" {
		t.Skip("needs a python3 in /usr/bin or /usr/local/bin that any account may run")
	}
	// A user whose tasks run as nobody, and its token.
	nodes[0].mustNai(t, "user", "create", "-unix-account", "nobody", "ranker")
	var tok structs.TokenWithSecret
	if err := json.Unmarshal([]byte(nodes[0].mustNai(t, "token", "create", "-user", "ranker", "-json")), &tok); err != nil {
		t.Fatal(err)
	}
	// nobody writes its ranks beside the script.
	jobDir, err := os.MkdirTemp("", "nai-provision-job-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(jobDir) })
	if err := os.Chmod(jobDir, 0o777); err != nil {
		t.Fatal(err)
	}
	writeFile(t, jobDir, "rendezvous.py", script)
	jobFile := writeFile(t, jobDir, "across.hcl", `job "across" {
  time_limit = "2m"
  resources {
    nodes  = 2
    cpu    = 0.1
    memory = "128MiB"
    gpu { count = 1 }
  }
  task {
    command = "`+python+`"
    args    = ["`+filepath.Join(jobDir, "rendezvous.py")+`"]
  }
}
`)
	out, errOut, code = client2.naiAs(t, tok.SecretID, "job", "run", "-detach", jobFile)
	if code != 0 {
		t.Fatalf("nai job run on client2 exited %d:\n%s%s", code, out, errOut)
	}
	id := strings.TrimSpace(out)
	var job structs.Job
	waitFor(t, 120*time.Second, "the two-node job to end", func() bool {
		out, _, code := nodes[1].nai(t, "job", "status", "-json", id)
		return code == 0 && json.Unmarshal([]byte(out), &job) == nil && job.Status.Terminal()
	})
	logs, _, _ := nodes[0].nai(t, "job", "logs", id)
	if job.Status != structs.JobComplete {
		errLogs, _, _ := nodes[0].nai(t, "job", "logs", "-stderr", id)
		t.Fatalf("the two-node job ended %s (%s):\n%s%s", job.Status, job.Reason, logs, errLogs)
	}
	ranks, err := os.ReadFile(filepath.Join(jobDir, "ranks"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ranks), "heard: hello from rank 1 on client") || !strings.Contains(string(ranks), "reached "+subnet+".2") {
		t.Errorf("the ranks did not meet at a client's address in the namespaces (%s.2x):\n%s", subnet, ranks)
	}
	if job.User != "ranker" {
		t.Errorf("the job belongs to %q, want ranker (the token's user)", job.User)
	}
	if fi, err := os.Stat(filepath.Join(jobDir, "ranks")); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid == 0 {
			t.Errorf("the ranks file is root's: the task ran as root, want nobody")
		}
	}
	t.Logf("job %s: ranks say\n%s", id, ranks)

	// Stop as systemd does (SIGTERM to the main process), clients first.
	for i := len(nodes) - 1; i >= 0; i-- {
		nodes[i].stop(t)
	}

	// The clients removed the cgroups of the job's allocations when it
	// ended; whatever is left is removed here, and is an error.
	var prefixes []string
	for _, c := range []*provNode{client1, client2} {
		id, err := os.ReadFile(filepath.Join(c.root, "var/lib/nai/client/client/node-id"))
		if err != nil || len(strings.TrimSpace(string(id))) < 8 {
			t.Fatalf("node id of %s: %q, %v", c.name, id, err)
		}
		prefixes = append(prefixes, "nai-"+strings.TrimSpace(string(id))[:8]+"-")
	}
	if left := allocCgroups(t, prefixes); len(left) > 0 {
		t.Errorf("allocation cgroups left behind (removed now): %v", left)
		for i := len(left) - 1; i >= 0; i-- {
			_ = os.Remove(left[i])
		}
	}
}

// allocCgroups lists the cgroups below this process's own (where the
// clients nest theirs, in every hierarchy) whose names start with one of
// prefixes.
func allocCgroups(t *testing.T, prefixes []string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		var dirs []string
		if f[1] == "" {
			dirs = append(dirs, filepath.Join("/sys/fs/cgroup", f[2], "nai"))
		}
		for _, ctrl := range strings.Split(f[1], ",") {
			if ctrl != "" && !strings.HasPrefix(ctrl, "name=") {
				dirs = append(dirs, filepath.Join("/sys/fs/cgroup", ctrl, f[2], "nai"))
			}
		}
		for _, d := range dirs {
			entries, _ := os.ReadDir(d)
			for _, e := range entries {
				p := filepath.Join(d, e.Name())
				for _, pre := range prefixes {
					if e.IsDir() && strings.HasPrefix(e.Name(), pre) && !seen[p] {
						seen[p] = true
						out = append(out, p)
					}
				}
			}
		}
	}
	return out
}

// inNS is a command that runs in the node's network namespace only.
// nsenter, not `ip netns exec`: that also remounts /sys, which hides the
// cgroup hierarchies from the agent. nsenter execs the command, so its pid
// is the agent's, as systemd's MainPID would be.
func (n *provNode) inNS(args ...string) *exec.Cmd {
	return exec.Command(n.nsenter, append([]string{"--net=/run/netns/" + n.ns, "--"}, args...)...)
}

// vagrantMachine is one VM of the Vagrantfile, as
// contrib/testdata/vagrantfile_dump.rb reports it.
type vagrantMachine struct {
	Name      string `json:"name"`
	IP        string `json:"ip"`
	Provision []struct {
		Path string   `json:"path"`
		Args []string `json:"args"`
	} `json:"provision"`
}

// vagrantMachines loads a copy of the Vagrantfile (its gossip key goes to
// a temporary .vagrant/) with env added to the environment.
func vagrantMachines(t *testing.T, repo string, env ...string) []vagrantMachine {
	t.Helper()
	ruby := testtool.Need(t, "ruby", "ruby")
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(repo, "Vagrantfile"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Vagrantfile"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ruby, filepath.Join(repo, "contrib/testdata/vagrantfile_dump.rb"), filepath.Join(dir, "Vagrantfile"))
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("load the Vagrantfile: %v\n%s", err, out)
	}
	var ms []vagrantMachine
	if err := json.Unmarshal(out, &ms); err != nil {
		t.Fatalf("decode the Vagrantfile's machines: %v\n%s", err, out)
	}
	for _, m := range ms {
		for _, p := range m.Provision {
			if p.Path != "contrib/install/provision.sh" {
				t.Fatalf("%s runs %q: this test knows contrib/install/provision.sh", m.Name, p.Path)
			}
		}
	}
	return ms
}

// start runs the ExecStart of the node's installed unit in its namespace.
func (n *provNode) start(t *testing.T) {
	t.Helper()
	unit := filepath.Join(n.root, "etc/systemd/system", "nai-"+n.role+".service")
	b, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	var execStart string
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "ExecStart="); ok {
			execStart = v
		}
	}
	words := strings.Fields(execStart)
	if len(words) < 2 || !strings.HasPrefix(words[0], n.root+"/") {
		t.Fatalf("%s: ExecStart %q does not run the binary installed under %s", unit, execStart, n.root)
	}
	n.notify = newNotifySocket(t)
	n.cmd = n.inNS(words...)
	n.cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+n.notify.path)
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	n.logs = &testtool.Buffer{}
	n.cmd.Stdout, n.cmd.Stderr = n.logs, n.logs
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", n.name, err)
	}
	n.done = make(chan struct{})
	go func() {
		_ = n.cmd.Wait()
		close(n.done)
	}()
	t.Cleanup(func() {
		n.kill()
		if t.Failed() {
			t.Logf("%s log:\n%s", n.name, n.logs.String())
		}
	})
}

// nai runs the CLI inside the node's namespace with the NAI_ADDR that
// provision.sh wrote to its /etc/environment, and n.env.
func (n *provNode) nai(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return n.naiEnv(t, n.env, args...)
}

// naiAs runs the CLI with token ("": none) instead of n.env.
func (n *provNode) naiAs(t *testing.T, token string, args ...string) (string, string, int) {
	t.Helper()
	env := []string{"NAI_TOKEN_FILE=/nonexistent"}
	if token != "" {
		env = []string{"NAI_TOKEN=" + token}
	}
	return n.naiEnv(t, env, args...)
}

// mustNai runs the CLI and fails the test on a non-zero exit.
func (n *provNode) mustNai(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := n.nai(t, args...)
	if code != 0 {
		t.Fatalf("nai %s on %s: exit %d\n%s%s", strings.Join(args, " "), n.name, code, out, errOut)
	}
	return out
}

func (n *provNode) naiEnv(t *testing.T, extra []string, args ...string) (string, string, int) {
	t.Helper()
	env, err := os.ReadFile(filepath.Join(n.root, "etc/environment"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := n.inNS(append([]string{naiBin}, args...)...)
	cmd.Env = append(os.Environ(), strings.Split(strings.TrimSpace(string(env)), "\n")...)
	cmd.Env = append(cmd.Env, extra...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	return stdout.String(), stderr.String(), code
}

// stop sends SIGTERM, as `systemctl stop` does, and waits.
func (n *provNode) stop(t *testing.T) {
	t.Helper()
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(30 * time.Second):
		t.Errorf("%s did not stop within 30s of SIGTERM", n.name)
		n.kill()
	}
}

func (n *provNode) kill() {
	select {
	case <-n.done:
	default:
		_ = n.cmd.Process.Signal(syscall.SIGKILL)
		<-n.done
	}
}
