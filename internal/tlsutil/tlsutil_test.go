package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeAgent makes a certificate of role signed by ca and loads an agent
// of it.
func writeAgent(t *testing.T, dir, role string, caCert, caKey []byte, optional bool) *Agent {
	t.Helper()
	cert, key, err := CreateCert(CertSpec{Role: role, Datacenter: "dc1", IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Validity: time.Hour}, caCert, caKey, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, role+".pem"), KeyFile: filepath.Join(dir, role+"-key.pem"),
		Datacenter: "dc1", HTTPSClientCertOptional: optional}
	for p, b := range map[string][]byte{cfg.CAFile: caCert, cfg.CertFile: cert, cfg.KeyFile: key} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a, err := Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// The HTTP listener requires a client certificate of the CA by default;
// with verify_https_client = false it takes callers without one (a
// browser, a load balancer, Prometheus), still refuses a certificate of
// another CA, and raft's listener stays mutual TLS.
func TestHTTPConfigClientCert(t *testing.T) {
	caCert, caKey, err := CreateCA("dc1", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	otherCert, otherKey, err := CreateCA("dc1", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cli := writeAgent(t, t.TempDir(), RoleCLI, caCert, caKey, false)
	foreign := writeAgent(t, t.TempDir(), RoleCLI, otherCert, otherKey, false)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caCert)
	noCert := &tls.Config{RootCAs: pool, ServerName: Name(RoleServer, "dc1"), MinVersion: tls.VersionTLS12}

	handshake := func(server *tls.Config, client *tls.Config) error {
		ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		done := make(chan error, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				done <- err
				return
			}
			defer c.Close()
			done <- c.(*tls.Conn).Handshake()
		}()
		c, err := tls.Dial("tcp", ln.Addr().String(), client)
		if err == nil {
			// TLS 1.3: the server's verdict on the client's
			// certificate arrives after the client's handshake.
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, _ = c.Read(make([]byte, 1))
			c.Close()
		}
		return <-done
	}
	for _, optional := range []bool{false, true} {
		server := writeAgent(t, t.TempDir(), RoleServer, caCert, caKey, optional)
		if err := handshake(server.HTTPConfig(), cli.ClientConfig(true)); err != nil {
			t.Errorf("optional=%v: a CLI certificate of the CA: %v", optional, err)
		}
		if err := handshake(server.HTTPConfig(), foreign.ClientConfig(true)); err == nil {
			t.Errorf("optional=%v: a certificate of another CA was taken", optional)
		}
		err := handshake(server.HTTPConfig(), noCert)
		if optional && err != nil {
			t.Errorf("verify_https_client = false: a caller without a certificate: %v", err)
		}
		if !optional && err == nil {
			t.Errorf("by default a caller without a certificate was taken")
		}
		if err := handshake(server.ServerPeerListenerConfig(), noCert); err == nil {
			t.Errorf("optional=%v: raft's listener took a caller without a certificate", optional)
		}
	}
}
