package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// tlsFiles makes a CA and a certificate of each role with the CLI, in dir.
type tlsFiles struct {
	ca, serverCert, serverKey, clientCert, clientKey, cliCert, cliKey string
}

func makeTLS(t *testing.T, dir string) tlsFiles {
	t.Helper()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(naiBin, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("nai %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("tls", "ca", "create")
	run("tls", "cert", "create", "-server")
	run("tls", "cert", "create", "-client")
	run("tls", "cert", "create", "-cli")
	p := func(n string) string { return filepath.Join(dir, n) }
	return tlsFiles{
		ca:         p("nai-agent-ca.pem"),
		serverCert: p("dc1-server-nai-0.pem"), serverKey: p("dc1-server-nai-0-key.pem"),
		clientCert: p("dc1-client-nai-0.pem"), clientKey: p("dc1-client-nai-0-key.pem"),
		cliCert: p("dc1-cli-nai-0.pem"), cliKey: p("dc1-cli-nai-0-key.pem"),
	}
}

// TestClusterTLS: three servers and a client speak mutual TLS on HTTP and
// raft; a job runs and its log is read through the servers; plain HTTP
// and certificates of another CA are refused; the CLI works with the CA.
func TestClusterTLS(t *testing.T) {
	ctx := context.Background()
	f := makeTLS(t, t.TempDir())
	other := makeTLS(t, t.TempDir())
	cli := creds{caCert: f.ca, clientCert: f.cliCert, clientKey: f.cliKey}
	serverTLS := []string{"-tls-ca-file", f.ca, "-tls-cert-file", f.serverCert, "-tls-key-file", f.serverKey, "-tls-verify-server-hostname"}
	var servers []*clusterAgent
	join := ""
	for i := range 3 {
		flags := append([]string{"-server", "-bootstrap-expect", "3", "-node-down-grace", clusterGrace}, serverTLS...)
		if join != "" {
			flags = append(flags, "-join", join)
		}
		s := startClusterAgent(t, fmt.Sprintf("s%d", i+1), t.TempDir(), flags...)
		s.creds = cli
		if join == "" {
			join = s.serf
		}
		servers = append(servers, s)
	}
	c1 := startClusterAgent(t, "c1", t.TempDir(), "-client", "-dev-gpus", "2", "-join", join,
		"-tls-ca-file", f.ca, "-tls-cert-file", f.clientCert, "-tls-key-file", f.clientKey, "-tls-verify-server-hostname")
	c1.creds = cli
	s1 := servers[0]
	if !strings.HasPrefix(s1.addr, "https://") {
		t.Fatalf("agent address %s, want https", s1.addr)
	}
	waitFor(t, 60*time.Second, "a leader is elected over raft in TLS and the client registers", func() bool {
		nodes, err := s1.api().Nodes(ctx)
		return err == nil && len(nodes) == 1 && nodes[0].Status == structs.NodeReady
	})

	// A job runs, and its log comes from the client through a server.
	work := t.TempDir()
	id := s1.submit(work, "hello", `job "hello" {
  resources {
    cpu    = 0.1
    memory = "64MiB"
  }
  task {
    command = "echo"
    args    = ["over tls"]
  }
}`)
	if j := s1.waitJob(id, time.Minute); j.Status != structs.JobComplete {
		t.Fatalf("job %s: %s (%s)", id, j.Status, j.Reason)
	}
	if out := servers[2].mustNai("job", "logs", id); !strings.Contains(out, "over tls") {
		t.Errorf("logs through s3: %q", out)
	}

	hostPort := strings.TrimPrefix(s1.addr, "https://")
	t.Run("plain HTTP is refused", func(t *testing.T) {
		resp, err := http.Get("http://" + hostPort + "/v1/status/leader")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "HTTPS server") {
			t.Errorf("plain HTTP: %d %s", resp.StatusCode, b)
		}
		if _, errOut, code := s1.naiAs(creds{}, "-address", "http://"+hostPort, "queue"); code == 0 {
			t.Errorf("the CLI over plain HTTP worked: %s", errOut)
		}
	})
	t.Run("a certificate of another CA is refused", func(t *testing.T) {
		for _, cr := range []creds{
			{caCert: f.ca, clientCert: other.cliCert, clientKey: other.cliKey}, // our server, their client cert
			{caCert: f.ca}, // no client certificate
			{caCert: other.ca, clientCert: f.cliCert, clientKey: f.cliKey}, // a server our CA did not sign
		} {
			_, errOut, code := s1.naiAs(cr, "queue")
			if code == 0 {
				t.Errorf("nai queue with %+v worked", cr)
			}
			if !strings.Contains(errOut, "NAI_CACERT") {
				t.Errorf("the refusal does not say how to set TLS up: %s", errOut)
			}
		}
		// Nor does an agent with a foreign certificate get in.
		req, _ := http.NewRequest("GET", s1.addr+"/v1/nodes", nil)
		_, err := s1.apiAs(creds{caCert: f.ca, clientCert: other.serverCert, clientKey: other.serverKey}).Nodes(ctx)
		if err == nil {
			t.Errorf("a server certificate of another CA was accepted (%s)", req.URL)
		}
	})
	t.Run("the CLI works with the CA", func(t *testing.T) {
		out := s1.mustNai("queue", "-all")
		if !strings.Contains(out, "hello") {
			t.Errorf("nai queue -all:\n%s", out)
		}
		self, err := s1.self()
		if err != nil || !self.TLSEnabled {
			t.Errorf("agent-info: %+v, %v", self, err)
		}
	})
}

// TestTLSHTTPSClientOptional: with tls { verify_https_client = false } a
// caller without a client certificate (a browser, a load balancer,
// Prometheus) reaches the HTTP API, whose tokens still decide: the health
// check answers, an anonymous write is refused, the CLI with a token and
// the CA alone works.
func TestTLSHTTPSClientOptional(t *testing.T) {
	ctx := context.Background()
	f := makeTLS(t, t.TempDir())
	mgmt := "0123456789abcdefghijABCDEFGHIJ-mgmt"
	cfg := writeFile(t, t.TempDir(), "agent.hcl", fmt.Sprintf(`tls {
  ca_file             = %q
  cert_file           = %q
  key_file            = %q
  verify_https_client = false
}
acl {
  enabled                  = true
  initial_management_token = %q
}
`, f.ca, f.serverCert, f.serverKey, mgmt))
	s := startClusterAgent(t, "s1", t.TempDir(), "-server", "-bootstrap-expect", "1", "-acl-enabled", "-config", cfg)
	if !strings.HasPrefix(s.addr, "https://") {
		t.Fatalf("agent address %s, want https", s.addr)
	}
	caOnly := creds{caCert: f.ca, token: mgmt}
	waitFor(t, 60*time.Second, "a leader, reached without a client certificate", func() bool {
		_, err := s.apiAs(caOnly).Jobs(ctx, true)
		return err == nil
	})
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(f.ca)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(ca)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "server.dc1.nai", MinVersion: tls.VersionTLS12}}}
	resp, err := hc.Get(s.addr + "/v1/agent/health")
	if err != nil {
		t.Fatalf("health check without a client certificate: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"status":"ok"`) {
		t.Errorf("agent/health: %d %s", resp.StatusCode, b)
	}
	resp, err = hc.Post(s.addr+"/v1/jobs", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		t.Errorf("an anonymous submission without a client certificate: %s, want refused", resp.Status)
	}
	if out, errOut, code := s.naiAs(caOnly, "queue"); code != 0 {
		t.Errorf("nai queue with a token and the CA alone: %s%s", out, errOut)
	}
}
