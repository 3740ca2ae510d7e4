package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// floorAgents starts the two programs of bench/floor: a server that is
// raft (with raft-boltdb), serf, go-memdb, the HCL job language and one
// HTTP route, and a client that is
// serf joined to it, one HTTP route, and containerd/cgroups and go-nvml
// started as nai's client starts them (with go-nvml's mock machine of
// gpus GPUs, as the benchmark's client agent has). They are built from this module,
// so with the same library versions as nai, and with cgo as the agent is.
// Read beside nai's agents, their idle memory is the floor of the idle
// rows from the same run: what a Go agent on these libraries holds before
// it does anything of its own. It returns their pids; they are ended when
// t ends.
func floorAgents(t *testing.T, gpus int) (server, client int) {
	t.Helper()
	bins := t.TempDir()
	for _, name := range []string{"server", "client"} {
		build := exec.Command("go", "build", "-o", filepath.Join(bins, name), "./bench/floor/"+name)
		build.Dir = repoRoot()
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build bench/floor/%s: %v\n%s", name, err, out)
		}
	}
	addr := func() string { return fmt.Sprintf("127.0.0.1:%d", freePort(t)) }
	srvHTTP, srvSerf, srvRaft := addr(), addr(), addr()
	server = startFloor(t, filepath.Join(bins, "server"), t.TempDir(), srvHTTP, srvSerf, srvRaft)
	// The server is ready once it commits an entry (it has elected itself).
	waitFor(t, 30*time.Second, "the floor server commits", func() bool {
		req, _ := http.NewRequest(http.MethodPost, "http://"+srvHTTP+"/v1/jobs", strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	clHTTP := addr()
	client = startFloor(t, filepath.Join(bins, "client"), clHTTP, addr(), srvSerf, strconv.Itoa(gpus))
	waitFor(t, 30*time.Second, "the floor client joins", func() bool {
		resp, err := http.Get("http://" + clHTTP + "/v1/status")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), `"members":2,"gpus":`+strconv.Itoa(gpus)+`,`)
	})
	return server, client
}

// startFloor starts one floor program and ends it when t ends.
func startFloor(t *testing.T, bin string, args ...string) int {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd.Process.Pid
}
