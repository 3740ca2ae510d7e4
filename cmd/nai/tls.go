package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/internal/tlsutil"
)

// nai tls ca create / nai tls cert create: the cluster's own CA and the
// certificates of its servers, GPU hosts and people (like `nomad tls`).

func tlsCommand() *cli.Command {
	return &cli.Command{
		Name:   "tls",
		Usage:  "make the cluster's CA and the certificates of servers, clients and the CLI",
		Action: parentAction,
		Subcommands: []*cli.Command{
			{
				Name:   "ca",
				Usage:  "the cluster's certificate authority",
				Action: parentAction,
				Subcommands: []*cli.Command{
					{Name: "create", Usage: "make nai-agent-ca.pem and nai-agent-ca-key.pem (keep the key offline)", ArgsUsage: "[-dir DIR] [-days N]",
						Flags: []cli.Flag{
							&cli.StringFlag{Name: "dir", Value: ".", Usage: "where to write the files"},
							&cli.StringFlag{Name: "domain", Value: "nai", Usage: "named in the CA's subject"},
							&cli.IntFlag{Name: "days", Value: 1825, Usage: "how long the CA is valid"},
						}, Action: tlsCACreate},
				},
			},
			{
				Name:   "cert",
				Usage:  "certificates signed by the cluster's CA",
				Action: parentAction,
				Subcommands: []*cli.Command{
					{Name: "create", Usage: "make a certificate and key for a server, a client (GPU host) or the CLI",
						ArgsUsage: "(-server | -client | -cli) [-dc dc1] [-ca FILE -ca-key FILE] [-additional-dnsname NAME]... [-additional-ipaddress IP]...",
						Flags: []cli.Flag{
							&cli.BoolFlag{Name: "server", Usage: "a server's certificate (server.<dc>.nai)"},
							&cli.BoolFlag{Name: "client", Usage: "a client agent's certificate (client.<dc>.nai)"},
							&cli.BoolFlag{Name: "cli", Usage: "a person's certificate for the CLI (cli.<dc>.nai)"},
							&cli.StringFlag{Name: "dc", Value: "dc1", Usage: "the datacenter"},
							&cli.StringFlag{Name: "ca", Value: "nai-agent-ca.pem", Usage: "the CA certificate"},
							&cli.StringFlag{Name: "ca-key", Value: "nai-agent-ca-key.pem", Usage: "the CA key"},
							&cli.StringSliceFlag{Name: "additional-dnsname", Usage: "another DNS name the agent is reached by; repeatable"},
							&cli.StringSliceFlag{Name: "additional-ipaddress", Usage: "an IP address the agent is reached at; repeatable"},
							&cli.IntFlag{Name: "days", Value: 365, Usage: "how long the certificate is valid"},
							&cli.StringFlag{Name: "dir", Value: ".", Usage: "where to write the files"},
						}, Action: tlsCertCreate},
				},
			},
		},
	}
}

func tlsCACreate(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	if c.Int("days") <= 0 {
		return &usageError{msg: "-days must be positive", usage: usageLine(c)}
	}
	dir := c.String("dir")
	certPath, keyPath := filepath.Join(dir, "nai-agent-ca.pem"), filepath.Join(dir, "nai-agent-ca-key.pem")
	for _, p := range []string{certPath, keyPath} {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("%s exists: a new CA would orphan every certificate it signed; move it away first", p)
		}
	}
	certPEM, keyPEM, err := tlsutil.CreateCA(c.String("domain"), time.Duration(c.Int("days"))*24*time.Hour, time.Now())
	if err != nil {
		return fmt.Errorf("create CA: %w", err)
	}
	if err := writeNew(certPath, certPEM, 0o644); err != nil {
		return err
	}
	if err := writeNew(keyPath, keyPEM, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "==> CA certificate: %s\n==> CA key:         %s (keep it off the cluster's hosts)\n", certPath, keyPath)
	return nil
}

func tlsCertCreate(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	var roles []string
	for _, r := range []string{tlsutil.RoleServer, tlsutil.RoleClient, tlsutil.RoleCLI} {
		if c.Bool(r) {
			roles = append(roles, r)
		}
	}
	if len(roles) != 1 {
		return &usageError{msg: "give exactly one of -server, -client and -cli", usage: usageLine(c)}
	}
	if c.Int("days") <= 0 {
		return &usageError{msg: "-days must be positive", usage: usageLine(c)}
	}
	spec := tlsutil.CertSpec{Role: roles[0], Datacenter: c.String("dc"), DNSNames: c.StringSlice("additional-dnsname"),
		Validity: time.Duration(c.Int("days")) * 24 * time.Hour}
	for _, s := range c.StringSlice("additional-ipaddress") {
		ip := net.ParseIP(s)
		if ip == nil {
			return &usageError{msg: fmt.Sprintf("-additional-ipaddress %q is not an IP address", s), usage: usageLine(c)}
		}
		spec.IPs = append(spec.IPs, ip)
	}
	caPEM, err := os.ReadFile(c.String("ca"))
	if err != nil {
		return fmt.Errorf("read the CA certificate (-ca): %w", err)
	}
	caKeyPEM, err := os.ReadFile(c.String("ca-key"))
	if err != nil {
		return fmt.Errorf("read the CA key (-ca-key): %w", err)
	}
	certPEM, keyPEM, err := tlsutil.CreateCert(spec, caPEM, caKeyPEM, time.Now())
	if err != nil {
		return fmt.Errorf("create certificate: %w", err)
	}
	dir := c.String("dir")
	var certPath, keyPath string
	for i := 0; ; i++ {
		base := filepath.Join(dir, fmt.Sprintf("%s-%s-nai-%d", spec.Datacenter, spec.Role, i))
		certPath, keyPath = base+".pem", base+"-key.pem"
		if _, err := os.Stat(certPath); errors.Is(err, os.ErrNotExist) {
			break
		}
	}
	if err := writeNew(certPath, certPEM, 0o644); err != nil {
		return err
	}
	if err := writeNew(keyPath, keyPEM, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "==> certificate: %s (%s)\n==> key:         %s\n", certPath, tlsutil.Name(spec.Role, spec.Datacenter), keyPath)
	return nil
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
