// Package tlsutil makes and loads the certificates of a nai cluster and
// builds the TLS configurations agents use: mutual TLS on every HTTP
// listener and on raft, with every party's certificate signed by the
// cluster's own CA (`nai tls ca create`, `nai tls cert create`).
//
// Certificates name their role in a DNS SAN: server.<dc>.nai for servers,
// client.<dc>.nai for GPU hosts' agents, cli.<dc>.nai for people's
// commands. With verify_server_hostname, agents check that the server they
// call holds a server certificate of their datacenter; without it, any
// certificate of the CA is accepted, as Nomad does. What only servers may
// do always checks the name, whatever verify_server_hostname says: raft
// accepts only server certificates (ServerPeerListenerConfig), and
// servers' calls to each other and a client-only agent's proxy to the
// servers call only holders of one (ServerPeerClientConfig).
//
// Certificates and keys are read again on Reload (SIGHUP), so they can be
// rotated without a restart: new connections use the new files.
package tlsutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"sync"
	"time"
)

// Roles of certificates.
const (
	RoleServer = "server"
	RoleClient = "client"
	RoleCLI    = "cli"
)

// Name is the DNS name that says a certificate's role in a datacenter.
func Name(role, dc string) string { return role + "." + dc + ".nai" }

// Config is the tls block of an agent's configuration.
type Config struct {
	CAFile, CertFile, KeyFile string
	// VerifyServerHostname makes calls to servers check their certificate
	// names server.<dc>.nai (ClientConfig(true)). The agents' own calls to
	// servers always check it (ServerPeerClientConfig).
	VerifyServerHostname bool
	// HTTPSClientCertOptional (verify_https_client = false) lets HTTP
	// API callers connect without a client certificate (browsers, load
	// balancers, Prometheus): HTTPConfig asks for one and verifies one
	// that is shown, but does not require it. Raft stays mutual TLS.
	HTTPSClientCertOptional bool
	Datacenter              string
}

// Enabled reports whether the block turns TLS on.
func (c Config) Enabled() bool { return c.CAFile != "" || c.CertFile != "" || c.KeyFile != "" }

// Validate checks that the three files are given together.
func (c Config) Validate() error {
	if !c.Enabled() {
		return nil
	}
	if c.CAFile == "" || c.CertFile == "" || c.KeyFile == "" {
		return errors.New("tls needs ca_file, cert_file and key_file together")
	}
	return nil
}

// Agent holds an agent's CA and certificate and makes its TLS
// configurations; Reload reads the files again.
type Agent struct {
	cfg Config

	mu   sync.RWMutex
	pool *x509.CertPool
	cert *tls.Certificate
}

// Load reads an agent's CA, certificate and key.
func Load(cfg Config) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg}
	if err := a.Reload(); err != nil {
		return nil, err
	}
	return a, nil
}

// Reload reads the files again; on an error the old ones stay in use.
func (a *Agent) Reload() error {
	pem, err := os.ReadFile(a.cfg.CAFile)
	if err != nil {
		return fmt.Errorf("read CA certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("CA file %s holds no PEM certificate", a.cfg.CAFile)
	}
	cert, err := tls.LoadX509KeyPair(a.cfg.CertFile, a.cfg.KeyFile)
	if err != nil {
		return fmt.Errorf("load certificate %s and key %s: %w", a.cfg.CertFile, a.cfg.KeyFile, err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return fmt.Errorf("parse certificate %s: %w", a.cfg.CertFile, err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return fmt.Errorf("certificate %s is not signed by the CA in %s: %w", a.cfg.CertFile, a.cfg.CAFile, err)
	}
	cert.Leaf = leaf
	a.mu.Lock()
	a.pool, a.cert = pool, &cert
	a.mu.Unlock()
	return nil
}

func (a *Agent) current() (*x509.CertPool, *tls.Certificate) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.pool, a.cert
}

// ServerConfig is the configuration of a listener (HTTP or raft): it shows
// the agent's certificate and requires one signed by the CA from every
// caller, so a plain or foreign connection never gets in.
func (a *Agent) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		ClientAuth: tls.RequireAnyClientCert,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			_, c := a.current()
			return c, nil
		},
		// The pool may change on Reload: verify against the current one.
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			pool, _ := a.current()
			return verifyChain(raw, pool, x509.ExtKeyUsageClientAuth, "")
		},
	}
}

// HTTPConfig is the configuration of an agent's HTTP API listener: that
// of ServerConfig, or, with HTTPSClientCertOptional, one that takes
// callers without a certificate too (a certificate shown must still be
// the CA's; ACL tokens decide what the caller may do either way).
func (a *Agent) HTTPConfig() *tls.Config {
	c := a.ServerConfig()
	if !a.cfg.HTTPSClientCertOptional {
		return c
	}
	c.ClientAuth = tls.RequestClientCert
	c.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return nil
		}
		pool, _ := a.current()
		return verifyChain(raw, pool, x509.ExtKeyUsageClientAuth, "")
	}
	return c
}

// ServerPeerListenerConfig is the configuration of a listener that only
// servers may call: raft. Unlike ServerConfig, which takes any
// certificate of the CA (a person's CLI certificate or a GPU host's
// client certificate included), it requires a server certificate of this
// datacenter: the name server.<dc>.nai and the ServerAuth usage, as
// `nai tls cert create -server` makes them.
func (a *Agent) ServerPeerListenerConfig() *tls.Config {
	c := a.ServerConfig()
	name := Name(RoleServer, a.cfg.Datacenter)
	c.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
		pool, _ := a.current()
		if err := verifyChain(raw, pool, x509.ExtKeyUsageClientAuth, ""); err != nil {
			return err
		}
		if err := verifyChain(raw, pool, x509.ExtKeyUsageServerAuth, name); err != nil {
			return fmt.Errorf("only servers may connect here, with a certificate for %s: %w", name, err)
		}
		return nil
	}
	return c
}

// ServerPeerClientConfig is the configuration of calls a server makes to
// another server (raft, blob copies, calls carrying the servers' shared
// secret), and of a client-only agent's proxy to the servers: the peer
// must hold a server certificate of this datacenter (server.<dc>.nai)
// whatever verify_server_hostname says, since what is sent is for
// servers only.
func (a *Agent) ServerPeerClientConfig() *tls.Config {
	c := a.ClientConfig(false)
	name := Name(RoleServer, a.cfg.Datacenter)
	c.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
		pool, _ := a.current()
		return verifyChain(raw, pool, x509.ExtKeyUsageServerAuth, name)
	}
	return c
}

// CheckServerCert says whether this agent's own certificate is a server
// certificate of its datacenter, which a server needs to be let into
// raft by the others.
func (a *Agent) CheckServerCert() error {
	pool, cert := a.current()
	name := Name(RoleServer, a.cfg.Datacenter)
	if err := verifyChain(cert.Certificate, pool, x509.ExtKeyUsageServerAuth, name); err != nil {
		return fmt.Errorf("certificate %s is not a server certificate for %s (make one with: nai tls cert create -server -dc %s): %w",
			a.cfg.CertFile, name, a.cfg.Datacenter, err)
	}
	return nil
}

// ClientConfig is the configuration of calls this agent makes to other
// agents. toServer says the peer must be a server: with
// verify_server_hostname its certificate must then name
// server.<dc>.nai.
func (a *Agent) ClientConfig(toServer bool) *tls.Config {
	want := ""
	if toServer && a.cfg.VerifyServerHostname {
		want = Name(RoleServer, a.cfg.Datacenter)
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Verification is VerifyPeerCertificate's: against the current
		// CA, by role name rather than by the address dialled.
		InsecureSkipVerify: true, //nolint:gosec // verified below
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			_, c := a.current()
			return c, nil
		},
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			pool, _ := a.current()
			return verifyChain(raw, pool, x509.ExtKeyUsageServerAuth, want)
		},
	}
}

// verifyChain checks a peer's chain against pool, its key usage and, when
// name is set, that it names name.
func verifyChain(raw [][]byte, pool *x509.CertPool, usage x509.ExtKeyUsage, name string) error {
	if len(raw) == 0 {
		return errors.New("the peer sent no certificate")
	}
	certs := make([]*x509.Certificate, 0, len(raw))
	for _, r := range raw {
		c, err := x509.ParseCertificate(r)
		if err != nil {
			return fmt.Errorf("the peer's certificate is malformed: %w", err)
		}
		certs = append(certs, c)
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}, DNSName: name}
	if _, err := certs[0].Verify(opts); err != nil {
		return fmt.Errorf("the peer's certificate is not one of this cluster's: %w", err)
	}
	return nil
}

// --- making a CA and certificates ---

// CreateCA makes a CA key and self-signed certificate, PEM encoded.
func CreateCA(domain string, validity time.Duration, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "nai agent CA " + domain, Organization: []string{"nai"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	return encode(der, key)
}

// CertSpec says what certificate to make.
type CertSpec struct {
	Role       string // RoleServer, RoleClient or RoleCLI
	Datacenter string
	DNSNames   []string
	IPs        []net.IP
	Validity   time.Duration
}

// CreateCert makes a key and a certificate for spec signed by the CA.
// Servers' and clients' certificates serve and call (both key usages);
// CLI ones only call.
func CreateCert(spec CertSpec, caCertPEM, caKeyPEM []byte, now time.Time) (certPEM, keyPEM []byte, err error) {
	ca, caKey, err := parseCA(caCertPEM, caKeyPEM)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, nil, err
	}
	name := Name(spec.Role, spec.Datacenter)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name, Organization: []string{"nai"}},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(spec.Validity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		DNSNames:     append([]string{name}, spec.DNSNames...),
		IPAddresses:  spec.IPs,
	}
	switch spec.Role {
	case RoleServer, RoleClient:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		tmpl.DNSNames = append(tmpl.DNSNames, "localhost")
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP("127.0.0.1"))
	case RoleCLI:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	default:
		return nil, nil, fmt.Errorf("certificate role %q is unknown: expected server, client or cli", spec.Role)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	return encode(der, key)
}

func parseCA(certPEM, keyPEM []byte) (*x509.Certificate, crypto.Signer, error) {
	b, _ := pem.Decode(certPEM)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, nil, errors.New("the CA certificate file holds no PEM certificate")
	}
	ca, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	if !ca.IsCA {
		return nil, nil, errors.New("the CA certificate is not a CA")
	}
	k, _ := pem.Decode(keyPEM)
	if k == nil {
		return nil, nil, errors.New("the CA key file holds no PEM key")
	}
	key, err := x509.ParsePKCS8PrivateKey(k.Bytes)
	if err != nil {
		if ek, err2 := x509.ParseECPrivateKey(k.Bytes); err2 == nil {
			return ca, ek, nil
		}
		return nil, nil, fmt.Errorf("parse CA key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, nil, errors.New("the CA key cannot sign")
	}
	return ca, signer, nil
}

func serialNumber() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

func encode(der []byte, key *ecdsa.PrivateKey) ([]byte, []byte, error) {
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), nil
}
