//go:build !nai_cli

package main

import (
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nai-project/nai/internal/gossipkey"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/urfave/cli/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nai-project/nai/internal/hclstruct"
	"github.com/nai-project/nai/internal/tlsutil"
	"github.com/nai-project/nai/server"
	"github.com/nai-project/nai/structs"
)

// agentConfig is a cluster agent's configuration: the defaults, then each
// -config file in order, then flags; later sources win field by field.
type agentConfig struct {
	NodeName   string
	Datacenter string
	DataDir    string
	BindAddr   string
	LogLevel   string
	Ports      struct{ HTTP, Raft, Serf int }
	// HTTPAddr overrides bind_addr:ports.http (the -http-addr flag).
	HTTPAddr string
	Server   struct {
		Enabled         bool
		BootstrapExpect int
		NodeDownGrace   time.Duration
		// Blob store (server/blob_replicate.go): copies wanted (0: every
		// server) and how long an unreferenced blob is kept (0: 24h).
		BlobReplicas  int
		BlobRetention time.Duration
		// UploadPendingLimit bounds the bytes a user keeps uploaded but
		// unused (server/blob_claims.go); 0: its storage quota, else
		// 100 GiB.
		UploadPendingLimit int64
		// JobGCThreshold is how long finished jobs stay in the live
		// tables (their usage stays in the accounting rows).
		JobGCThreshold time.Duration
		// Autopilot (server/autopilot.go): remove servers gone longer
		// than the threshold, never below a majority.
		CleanupDeadServers  bool
		DeadServerThreshold time.Duration
		// RaftMultiplier scales raft's timeouts (server.Config); 0 is
		// the default.
		RaftMultiplier int
	}
	Client struct {
		Enabled        bool
		DevGPUs        int
		CgroupParent   string
		ReservedCPU    float64
		ReservedMemory int64
		// AllowRootTasks lets tasks run as root on this node.
		AllowRootTasks bool
		// Hooks: the node's prolog and epilog (agent_hooks.go).
		Prolog, Epilog string
		HookTimeout    time.Duration
		// ServicePorts is the range service replicas' ports come from.
		ServicePorts structs.PortRange
		// LogMaxBytes caps each log file of an allocation (client.Config;
		// 0: the default, negative: none). log_max = "0" in the file is none.
		LogMaxBytes int64
		// MinFreeDisk is the free space the data dir keeps for jobs to
		// start (client.Config; 0: the default, negative: not checked).
		// min_free_disk = "0" in the file turns the check off.
		MinFreeDisk int64
	}
	// ACL is on by default outside -dev: every API call needs a token.
	ACL struct {
		Enabled bool
		// AgentToken is what a client agent registers its node with (a
		// token of policy node).
		AgentToken string
		// Servers: the secrets of the management token and of a node
		// token that the first leader makes when ACLs were never
		// bootstrapped (server/acl_initial.go).
		InitialManagementToken string
		InitialNodeToken       string
	}
	// TLS is mutual TLS for HTTP (all parties) and raft.
	TLS     tlsutil.Config
	Join    []string
	Encrypt string
}

func defaultAgentConfig() *agentConfig {
	c := &agentConfig{Datacenter: "dc1", BindAddr: "127.0.0.1", LogLevel: "info"}
	c.Ports.HTTP, c.Ports.Raft, c.Ports.Serf = 4646, 4647, 4648
	c.Server.NodeDownGrace = server.DefaultNodeDownGrace
	c.Server.DeadServerThreshold = server.DefaultDeadServerThreshold
	c.ACL.Enabled = true
	return c
}

// The file schema. Pointers and nil slices tell "not set" from a zero
// value, so a later file overrides only what it names.
type fileConfig struct {
	NodeName   *string     `hcl:"node_name,optional"`
	Datacenter *string     `hcl:"datacenter,optional"`
	DataDir    *string     `hcl:"data_dir,optional"`
	BindAddr   *string     `hcl:"bind_addr,optional"`
	LogLevel   *string     `hcl:"log_level,optional"`
	Join       *[]string   `hcl:"join,optional"`
	Encrypt    *string     `hcl:"encrypt,optional"`
	Ports      *filePorts  `hcl:"ports,block"`
	Server     *fileServer `hcl:"server,block"`
	Client     *fileClient `hcl:"client,block"`
	ACL        *fileACL    `hcl:"acl,block"`
	TLS        *fileTLS    `hcl:"tls,block"`
}

type fileTLS struct {
	CAFile               *string `hcl:"ca_file,optional"`
	CertFile             *string `hcl:"cert_file,optional"`
	KeyFile              *string `hcl:"key_file,optional"`
	VerifyServerHostname *bool   `hcl:"verify_server_hostname,optional"`
	VerifyHTTPSClient    *bool   `hcl:"verify_https_client,optional"`
}

type fileACL struct {
	Enabled                *bool   `hcl:"enabled,optional"`
	AgentToken             *string `hcl:"agent_token,optional"`
	InitialManagementToken *string `hcl:"initial_management_token,optional"`
	InitialNodeToken       *string `hcl:"initial_node_token,optional"`
}

type filePorts struct {
	HTTP *int `hcl:"http,optional"`
	Raft *int `hcl:"raft,optional"`
	Serf *int `hcl:"serf,optional"`
}

type fileServer struct {
	Enabled         *bool          `hcl:"enabled,optional"`
	BootstrapExpect *int           `hcl:"bootstrap_expect,optional"`
	NodeDownGrace   hcl.Expression `hcl:"node_down_grace,optional"`
	BlobReplicas    *int           `hcl:"blob_replicas,optional"`
	BlobRetention   hcl.Expression `hcl:"blob_retention,optional"`
	JobGCThreshold  hcl.Expression `hcl:"job_gc_threshold,optional"`
	// UploadPendingLimit is a size ("100GiB").
	UploadPendingLimit hcl.Expression `hcl:"upload_pending_limit,optional"`
	// Autopilot.
	CleanupDeadServers  *bool          `hcl:"cleanup_dead_servers,optional"`
	DeadServerThreshold hcl.Expression `hcl:"dead_server_threshold,optional"`
	RaftMultiplier      *int           `hcl:"raft_multiplier,optional"`
}

type fileClient struct {
	Enabled        *bool          `hcl:"enabled,optional"`
	DevGPUs        *int           `hcl:"dev_gpus,optional"`
	CgroupParent   *string        `hcl:"cgroup_parent,optional"`
	AllowRootTasks *bool          `hcl:"allow_root_tasks,optional"`
	ServicePorts   *string        `hcl:"service_ports,optional"`
	LogMax         *string        `hcl:"log_max,optional"`
	MinFreeDisk    *string        `hcl:"min_free_disk,optional"`
	Reserved       *fileReserved  `hcl:"reserved,block"`
	Prolog         *string        `hcl:"prolog,optional"`
	Epilog         *string        `hcl:"epilog,optional"`
	HookTimeout    hcl.Expression `hcl:"hook_timeout,optional"`
}

type fileReserved struct {
	CPU    *float64       `hcl:"cpu,optional"`
	Memory hcl.Expression `hcl:"memory,optional"`
}

// configError lists every problem of the configuration, each with its
// file:line:col when it comes from a file.
type configError struct{ problems []string }

func (e *configError) Error() string {
	if len(e.problems) == 1 {
		return "agent configuration: " + e.problems[0]
	}
	return "agent configuration has " + fmt.Sprint(len(e.problems)) + " problems:\n  " + strings.Join(e.problems, "\n  ")
}

func (e *configError) add(format string, args ...any) {
	e.problems = append(e.problems, fmt.Sprintf(format, args...))
}

func (e *configError) addDiags(diags hcl.Diagnostics) {
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		if d.Subject != nil {
			msg = fmt.Sprintf("%s:%d:%d: %s", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, msg)
		}
		e.add("%s", msg)
	}
}

func (e *configError) err() error {
	if len(e.problems) == 0 {
		return nil
	}
	return e
}

// loadAgentConfig reads the files in order over the defaults.
func loadAgentConfig(files []string) (*agentConfig, error) {
	cfg := defaultAgentConfig()
	errs := &configError{}
	parser := hclparse.NewParser()
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			errs.add("read config file: %v", err)
			continue
		}
		f, diags := parser.ParseHCL(src, path)
		if diags.HasErrors() {
			errs.addDiags(diags)
			continue
		}
		// The decoder goes on past an unknown name (a misspelt setting
		// or block), so the values it did read are checked too: every
		// problem of the file at once, not one pass per kind.
		var fc fileConfig
		diags = hclstruct.DecodeBody(f.Body, nil, &fc)
		errs.addDiags(diags)
		fc.apply(cfg, errs)
	}
	return cfg, errs.err()
}

// apply copies what the file sets onto cfg.
func (fc *fileConfig) apply(cfg *agentConfig, errs *configError) {
	set(&cfg.NodeName, fc.NodeName)
	set(&cfg.Datacenter, fc.Datacenter)
	set(&cfg.DataDir, fc.DataDir)
	set(&cfg.BindAddr, fc.BindAddr)
	set(&cfg.LogLevel, fc.LogLevel)
	set(&cfg.Join, fc.Join)
	set(&cfg.Encrypt, fc.Encrypt)
	if p := fc.Ports; p != nil {
		set(&cfg.Ports.HTTP, p.HTTP)
		set(&cfg.Ports.Raft, p.Raft)
		set(&cfg.Ports.Serf, p.Serf)
	}
	if s := fc.Server; s != nil {
		set(&cfg.Server.Enabled, s.Enabled)
		set(&cfg.Server.BootstrapExpect, s.BootstrapExpect)
		set(&cfg.Server.RaftMultiplier, s.RaftMultiplier)
		positiveDuration(s.NodeDownGrace, "node_down_grace", "30s", &cfg.Server.NodeDownGrace, errs)
		set(&cfg.Server.BlobReplicas, s.BlobReplicas)
		positiveDuration(s.BlobRetention, "blob_retention", "24h", &cfg.Server.BlobRetention, errs)
		if str, rng, ok := stringExpr(s.UploadPendingLimit, errs); ok {
			n, err := structs.ParseSize(str)
			if err != nil || n <= 0 {
				errs.add("%s: upload_pending_limit %q is not a positive size such as \"100GiB\"", pos(rng), str)
			} else {
				cfg.Server.UploadPendingLimit = n
			}
		}
		if str, rng, ok := stringExpr(s.JobGCThreshold, errs); ok {
			d, err := time.ParseDuration(str)
			if err != nil || d < time.Minute {
				errs.add("%s: job_gc_threshold %q is not a duration of a minute or more such as \"72h\"", pos(rng), str)
			} else {
				cfg.Server.JobGCThreshold = d
			}
		}
		set(&cfg.Server.CleanupDeadServers, s.CleanupDeadServers)
		positiveDuration(s.DeadServerThreshold, "dead_server_threshold", "10m", &cfg.Server.DeadServerThreshold, errs)
	}
	if t := fc.TLS; t != nil {
		set(&cfg.TLS.CAFile, t.CAFile)
		set(&cfg.TLS.CertFile, t.CertFile)
		set(&cfg.TLS.KeyFile, t.KeyFile)
		set(&cfg.TLS.VerifyServerHostname, t.VerifyServerHostname)
		if t.VerifyHTTPSClient != nil {
			cfg.TLS.HTTPSClientCertOptional = !*t.VerifyHTTPSClient
		}
	}
	if a := fc.ACL; a != nil {
		set(&cfg.ACL.Enabled, a.Enabled)
		set(&cfg.ACL.AgentToken, a.AgentToken)
		set(&cfg.ACL.InitialManagementToken, a.InitialManagementToken)
		set(&cfg.ACL.InitialNodeToken, a.InitialNodeToken)
	}
	if c := fc.Client; c != nil {
		set(&cfg.Client.Enabled, c.Enabled)
		set(&cfg.Client.DevGPUs, c.DevGPUs)
		set(&cfg.Client.CgroupParent, c.CgroupParent)
		set(&cfg.Client.AllowRootTasks, c.AllowRootTasks)
		c.applyHooks(cfg, errs) // agent_hooks.go
		if c.ServicePorts != nil {
			pr, err := structs.ParsePortRange(*c.ServicePorts)
			if err != nil {
				errs.add("client.service_ports: %v", err)
			}
			cfg.Client.ServicePorts = pr
		}
		if c.LogMax != nil {
			n, err := structs.ParseSize(*c.LogMax)
			switch {
			case err != nil || n < 0:
				errs.add("client.log_max: %q is not a size such as \"10GiB\" (\"0\": no cap)", *c.LogMax)
			case n == 0:
				cfg.Client.LogMaxBytes = -1
			default:
				cfg.Client.LogMaxBytes = n
			}
		}
		if c.MinFreeDisk != nil {
			n, err := structs.ParseSize(*c.MinFreeDisk)
			switch {
			case err != nil || n < 0:
				errs.add("client.min_free_disk: %q is not a size such as \"1GiB\" (\"0\": no check)", *c.MinFreeDisk)
			case n == 0:
				cfg.Client.MinFreeDisk = -1
			default:
				cfg.Client.MinFreeDisk = n
			}
		}
		if r := c.Reserved; r != nil {
			set(&cfg.Client.ReservedCPU, r.CPU)
			if str, rng, ok := stringExpr(r.Memory, errs); ok {
				n, err := structs.ParseSize(str)
				if err != nil || n < 0 {
					errs.add("%s: reserved memory %q is not a size such as \"2GiB\"", pos(rng), str)
				} else {
					cfg.Client.ReservedMemory = n
				}
			}
		}
	}
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// stringExpr evaluates an optional attribute that must be a string (a
// duration or a size); ok is false when it is absent or wrong (reported).
// positiveDuration sets *dst from a duration attribute such as "30s",
// or records that it is not a positive duration (example shows one).
func positiveDuration(e hcl.Expression, name, example string, dst *time.Duration, errs *configError) {
	str, rng, ok := stringExpr(e, errs)
	if !ok {
		return
	}
	d, err := time.ParseDuration(str)
	if err != nil || d <= 0 {
		errs.add("%s: %s %q is not a positive duration such as %q", pos(rng), name, str, example)
		return
	}
	*dst = d
}

func stringExpr(e hcl.Expression, errs *configError) (string, hcl.Range, bool) {
	if e == nil {
		return "", hcl.Range{}, false
	}
	v, diags := e.Value(nil)
	if diags.HasErrors() {
		errs.addDiags(diags)
		return "", e.Range(), false
	}
	if v.IsNull() {
		return "", e.Range(), false
	}
	if v.Type() != cty.String {
		errs.add("%s: expected a string such as \"30s\" or \"2GiB\", got a %s", pos(e.Range()), v.Type().FriendlyName())
		return "", e.Range(), false
	}
	return v.AsString(), e.Range(), true
}

func pos(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// clusterFlags are the agent's flags beyond -dev's; each has the name of
// its configuration field (dashes for underscores).
func clusterFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "config", Usage: "read an agent configuration file (HCL); repeatable, later files win"},
		&cli.StringFlag{Name: "datacenter", Usage: "this agent's datacenter (default dc1)"},
		&cli.StringFlag{Name: "bind-addr", Usage: "IP address the agent listens on and advertises (default 127.0.0.1)"},
		&cli.IntFlag{Name: "http-port", Usage: "HTTP API port (default 4646)"},
		&cli.IntFlag{Name: "raft-port", Usage: "raft port of a server (default 4647)"},
		&cli.IntFlag{Name: "serf-port", Usage: "serf gossip port (default 4648)"},
		&cli.BoolFlag{Name: "server", Usage: "run a server"},
		&cli.BoolFlag{Name: "client", Usage: "run a client (a GPU host)"},
		&cli.IntFlag{Name: "bootstrap-expect", Usage: "servers to wait for before bootstrapping raft together"},
		&cli.IntFlag{Name: "raft-multiplier", Usage: fmt.Sprintf("scale raft's timeouts: N x 100ms before a follower calls an election (default %d; 10 is raft's own default, for slow networks)", server.DefaultRaftMultiplier)},
		&cli.StringFlag{Name: "node-down-grace", Usage: "how long a client serf declares failed stays ready (default 30s)"},
		&cli.IntFlag{Name: "blob-replicas", Usage: "copies of each blob the servers keep (default: one on every server)"},
		&cli.StringFlag{Name: "blob-retention", Usage: "how long a blob nothing references is kept (default 24h)"},
		&cli.StringFlag{Name: "job-gc-threshold", Usage: "how long finished jobs stay listed before only their usage is kept (default 72h)"},
		&cli.StringSliceFlag{Name: "join", Usage: "serf address (host:port) of any agent to join; repeatable"},
		&cli.StringFlag{Name: "encrypt", Usage: "gossip encryption `KEY` (from nai operator keygen)"},
		&cli.Float64Flag{Name: "reserved-cpu", Usage: "cores kept for the host, not offered to jobs"},
		&cli.StringFlag{Name: "reserved-memory", Usage: "memory kept for the host, such as 2GiB"},
		&cli.BoolFlag{Name: "acl-enabled", Usage: "require tokens on every API call (on by default outside -dev; -acl-enabled=false turns it off)"},
		&cli.StringFlag{Name: "acl-agent-token", Usage: "token (policy node) a client registers its node with; prefer acl { agent_token } in a 0600 file"},
		&cli.BoolFlag{Name: "allow-root-tasks", Usage: "let tasks run as root on this client (default: refused outside -dev)"},
		&cli.StringFlag{Name: "tls-ca-file", Usage: "the cluster CA `FILE` (PEM): turns on mutual TLS for HTTP and raft (with -tls-cert-file, -tls-key-file)"},
		&cli.StringFlag{Name: "tls-cert-file", Usage: "this agent's certificate `FILE` (PEM), made by nai tls cert create"},
		&cli.StringFlag{Name: "tls-key-file", Usage: "this agent's key `FILE` (PEM)"},
		&cli.BoolFlag{Name: "tls-verify-server-hostname", Usage: "check that servers hold a server.<dc>.nai certificate"},
		&cli.StringFlag{Name: "service-ports", Usage: "FIRST-LAST: the ports service replicas listen on (default " + structs.DefaultServicePorts + ")"},
	}
}

// agentConfigFrom loads -config files and applies the flags given, then
// validates the result.
func agentConfigFrom(c *cli.Context) (*agentConfig, error) {
	// The files' problems and the flags' are reported together; the
	// merged configuration is validated once both are right.
	cfg, err := loadAgentConfig(c.StringSlice("config"))
	errs := &configError{}
	if fileErrs, ok := err.(*configError); ok {
		errs.problems = append(errs.problems, fileErrs.problems...)
	} else if err != nil {
		return nil, err
	}
	str := func(flag string, dst *string) {
		if c.IsSet(flag) {
			*dst = c.String(flag)
		}
	}
	num := func(flag string, dst *int) {
		if c.IsSet(flag) {
			*dst = c.Int(flag)
		}
	}
	str("node-name", &cfg.NodeName)
	str("datacenter", &cfg.Datacenter)
	str("data-dir", &cfg.DataDir)
	str("bind-addr", &cfg.BindAddr)
	str("log-level", &cfg.LogLevel)
	str("http-addr", &cfg.HTTPAddr)
	str("encrypt", &cfg.Encrypt)
	str("cgroup-parent", &cfg.Client.CgroupParent)
	num("http-port", &cfg.Ports.HTTP)
	num("raft-port", &cfg.Ports.Raft)
	num("serf-port", &cfg.Ports.Serf)
	num("bootstrap-expect", &cfg.Server.BootstrapExpect)
	num("raft-multiplier", &cfg.Server.RaftMultiplier)
	num("dev-gpus", &cfg.Client.DevGPUs)
	num("blob-replicas", &cfg.Server.BlobReplicas)
	if c.IsSet("blob-retention") {
		d, err := time.ParseDuration(c.String("blob-retention"))
		if err != nil || d <= 0 {
			errs.add("-blob-retention %q is not a positive duration such as \"24h\"", c.String("blob-retention"))
		}
		cfg.Server.BlobRetention = d
	}
	if c.IsSet("job-gc-threshold") {
		d, err := time.ParseDuration(c.String("job-gc-threshold"))
		if err != nil || d < time.Minute {
			errs.add("-job-gc-threshold %q is not a duration of a minute or more such as \"72h\"", c.String("job-gc-threshold"))
		}
		cfg.Server.JobGCThreshold = d
	}
	if c.IsSet("server") {
		cfg.Server.Enabled = c.Bool("server")
	}
	if c.IsSet("client") {
		cfg.Client.Enabled = c.Bool("client")
	}
	if c.IsSet("join") {
		cfg.Join = c.StringSlice("join")
	}
	if c.IsSet("acl-enabled") {
		cfg.ACL.Enabled = c.Bool("acl-enabled")
	}
	str("acl-agent-token", &cfg.ACL.AgentToken)
	str("tls-ca-file", &cfg.TLS.CAFile)
	str("tls-cert-file", &cfg.TLS.CertFile)
	str("tls-key-file", &cfg.TLS.KeyFile)
	if c.IsSet("tls-verify-server-hostname") {
		cfg.TLS.VerifyServerHostname = c.Bool("tls-verify-server-hostname")
	}
	if c.IsSet("allow-root-tasks") {
		cfg.Client.AllowRootTasks = c.Bool("allow-root-tasks")
	}
	if c.IsSet("service-ports") {
		pr, err := structs.ParsePortRange(c.String("service-ports"))
		if err != nil {
			errs.add("-service-ports: %v", err)
		}
		cfg.Client.ServicePorts = pr
	}
	if c.IsSet("reserved-cpu") {
		cfg.Client.ReservedCPU = c.Float64("reserved-cpu")
	}
	if c.IsSet("node-down-grace") {
		d, err := time.ParseDuration(c.String("node-down-grace"))
		if err != nil || d <= 0 {
			errs.add("-node-down-grace %q is not a positive duration such as \"30s\"", c.String("node-down-grace"))
		}
		cfg.Server.NodeDownGrace = d
	}
	if c.IsSet("reserved-memory") {
		n, err := structs.ParseSize(c.String("reserved-memory"))
		if err != nil || n < 0 {
			errs.add("-reserved-memory %q is not a size such as \"2GiB\"", c.String("reserved-memory"))
		}
		cfg.Client.ReservedMemory = n
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// validate checks the merged configuration and fills derived defaults.
func (cfg *agentConfig) validate() error {
	errs := &configError{}
	if cfg.NodeName == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			errs.add("node_name is not set and the host name is unknown: set node_name")
		}
		cfg.NodeName = h
	}
	if cfg.DataDir == "" {
		errs.add("data_dir is required outside -dev mode: where this agent keeps its state")
	}
	if cfg.Datacenter == "" {
		errs.add("datacenter must not be empty")
	}
	if !cfg.Server.Enabled && !cfg.Client.Enabled {
		errs.add("neither server nor client is enabled: set server { enabled = true } and/or client { enabled = true }")
	}
	if ip := net.ParseIP(cfg.BindAddr); ip == nil {
		errs.add("bind_addr %q is not an IP address", cfg.BindAddr)
	} else if ip.IsUnspecified() {
		errs.add("bind_addr %s cannot be advertised: give the address other agents reach this host at", cfg.BindAddr)
	}
	for name, p := range map[string]int{"http": cfg.Ports.HTTP, "raft": cfg.Ports.Raft, "serf": cfg.Ports.Serf} {
		if p < 0 || p > 65535 {
			errs.add("ports.%s %d is out of range: expected 0 (pick a free port) to 65535", name, p)
		}
	}
	cfg.checkDistinctPorts(errs)
	if cfg.Server.BootstrapExpect < 0 {
		errs.add("server.bootstrap_expect %d is negative: expected the number of servers (3 or 5), or 0 to join an existing cluster", cfg.Server.BootstrapExpect)
	}
	if cfg.Server.Enabled && cfg.Server.BootstrapExpect == 0 && len(cfg.Join) == 0 {
		errs.add("a server needs server.bootstrap_expect (to form a new cluster) or join (to enter an existing one)")
	}
	if cfg.Client.Enabled && !cfg.Server.Enabled && len(cfg.Join) == 0 {
		errs.add("a client needs join: the serf address (host:port, ports.serf) of a server or any other agent, through which it finds the servers")
	}
	if m := cfg.Server.RaftMultiplier; m < 0 || m > server.MaxRaftMultiplier {
		errs.add("server.raft_multiplier %d is out of range: expected 1 to %d (0: the default, %d)", m, server.MaxRaftMultiplier, server.DefaultRaftMultiplier)
	}
	if cfg.Server.NodeDownGrace <= 0 {
		errs.add("server.node_down_grace must be positive")
	}
	if cfg.Server.BlobReplicas < 0 {
		errs.add("server.blob_replicas %d is negative: expected 0 (a copy on every server) or the number of copies", cfg.Server.BlobReplicas)
	}
	if cfg.Client.DevGPUs < 0 {
		errs.add("client.dev_gpus %d is negative: expected 0 (real GPUs) or the number of fake GPUs", cfg.Client.DevGPUs)
	}
	if cfg.Client.ReservedCPU < 0 {
		errs.add("client.reserved.cpu %v is negative", cfg.Client.ReservedCPU)
	}
	if cfg.Client.Enabled {
		cfg.validateHooks(errs) // agent_hooks.go
	}
	if cfg.Encrypt != "" {
		if _, err := gossipkey.Decode(cfg.Encrypt); err != nil {
			errs.add("encrypt: %v", err)
		}
	}
	for _, j := range cfg.Join {
		if _, _, err := net.SplitHostPort(j); err != nil {
			errs.add("join address %q: expected host:port of another agent's serf", j)
		}
	}
	if _, err := parseLevel(cfg.LogLevel); err != nil {
		errs.add("%v", err)
	}
	cfg.TLS.Datacenter = cfg.Datacenter
	if err := cfg.TLS.Validate(); err != nil {
		errs.add("%v", err)
	}
	for name, secret := range map[string]string{"acl.initial_management_token": cfg.ACL.InitialManagementToken, "acl.initial_node_token": cfg.ACL.InitialNodeToken} {
		if secret == "" {
			continue
		}
		if !cfg.Server.Enabled {
			errs.add("%s is for servers (the first leader makes the token); a client registers with acl.agent_token", name)
		} else if err := server.ValidInitialSecret(secret); err != nil {
			errs.add("%s %v", name, err)
		}
	}
	if cfg.ACL.InitialNodeToken != "" && cfg.ACL.InitialManagementToken == "" {
		errs.add("acl.initial_node_token needs acl.initial_management_token: the node token is made when the first leader bootstraps ACLs")
	}
	sort.Strings(errs.problems)
	return errs.err()
}

// checkDistinctPorts refuses two of the agent's listeners on one port of
// one address (0 picks a free port and never clashes): the second would
// only fail with "address already in use" once the agent was starting.
// Serf listens on TCP and UDP, raft (servers only) and HTTP on TCP.
func (cfg *agentConfig) checkDistinctPorts(errs *configError) {
	type listener struct {
		name, host string
		port       int
	}
	ls := []listener{{"ports.serf", cfg.BindAddr, cfg.Ports.Serf}}
	if cfg.Server.Enabled {
		ls = append(ls, listener{"ports.raft", cfg.BindAddr, cfg.Ports.Raft})
	}
	if cfg.HTTPAddr == "" {
		ls = append(ls, listener{"ports.http", cfg.BindAddr, cfg.Ports.HTTP})
	} else if host, port, err := net.SplitHostPort(cfg.HTTPAddr); err == nil {
		if p, err := strconv.Atoi(port); err == nil {
			ls = append(ls, listener{"http_addr", host, p})
		}
	}
	overlap := func(a, b string) bool {
		ipa, ipb := net.ParseIP(a), net.ParseIP(b)
		return a == b || (ipa != nil && ipa.IsUnspecified()) || (ipb != nil && ipb.IsUnspecified()) || (ipa != nil && ipa.Equal(ipb))
	}
	for i, a := range ls {
		for _, b := range ls[i+1:] {
			if a.port != 0 && a.port == b.port && overlap(a.host, b.host) {
				errs.add("%s and %s are both %d: each listener needs its own port (defaults: http 4646, raft 4647, serf 4648)", b.name, a.name, a.port)
			}
		}
	}
}

// httpListenAddr is where the HTTP API listens.
func (cfg *agentConfig) httpListenAddr() string {
	if cfg.HTTPAddr != "" {
		return cfg.HTTPAddr
	}
	return net.JoinHostPort(cfg.BindAddr, fmt.Sprint(cfg.Ports.HTTP))
}

// serverACL is the server's part of the acl block.
func (cfg *agentConfig) serverACL() server.ACLConfig {
	return server.ACLConfig{Enabled: cfg.ACL.Enabled,
		InitialManagementToken: cfg.ACL.InitialManagementToken, InitialNodeToken: cfg.ACL.InitialNodeToken}
}
