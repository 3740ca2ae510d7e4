//go:build !nai_cli

package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/cgroups"
	"github.com/nai-project/nai/client"
	"github.com/nai-project/nai/client/fingerprint"
	"github.com/nai-project/nai/internal/tlsutil"
	"github.com/nai-project/nai/scheduler"
	"github.com/nai-project/nai/server"
	"github.com/nai-project/nai/structs"
)

func agentCommand() *cli.Command {
	return &cli.Command{
		Name:      "agent",
		Usage:     "run a nai agent (server and client); -dev runs a one-machine cluster",
		ArgsUsage: "[-dev | -config FILE ...] [OPTIONS]",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "dev", Usage: "one process that is server and client, with fake GPUs when the host has none"},
			&cli.StringFlag{Name: "data-dir", Usage: "where state lives (dev mode: a temporary dir removed at exit when unset)"},
			&cli.StringFlag{Name: "http-addr", Value: "127.0.0.1:4646", Usage: "HOST:PORT the HTTP API listens on (port 0 picks one)"},
			&cli.IntFlag{Name: "dev-gpus", Value: -1, Usage: "number of fake GPUs (-dev: real GPUs through NVML by default, else 4 fakes; a cluster client: real GPUs only, none without NVML, by default)"},
			&cli.StringFlag{Name: "node-name", Usage: "this node's name (default: the host name)"},
			&cli.StringFlag{Name: "cgroup-parent", Usage: "cgroup to nest allocations under (default: the agent's own)"},
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error"},
			&cli.BoolFlag{Name: "enable-debug", Usage: "serve Go's profiler at /debug/pprof/ on the HTTP address"},
		}, clusterFlags()...),
		Action: runAgent,
	}
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("log level %q is unknown: expected debug, info, warn or error", s)
	}
	return l, nil
}

func runAgent(c *cli.Context) error {
	if !c.Bool("dev") {
		// A cluster agent configured by -config files and flags
		// (agent_cluster.go).
		return runClusterAgent(c)
	}
	if err := checkDevFlags(c); err != nil {
		return cli.Exit(err.Error(), 1)
	}
	level, err := parseLevel(c.String("log-level"))
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	// SIGINT and SIGTERM stop the agent from here on, while it starts
	// too (agent_signals.go).
	stops := catchStopSignals()
	defer stops.stop()
	ctx := stops.ctx

	dataDir := c.String("data-dir")
	if dataDir == "" {
		d, err := os.MkdirTemp("", "nai-dev-")
		if err != nil {
			return cli.Exit(fmt.Sprintf("nai agent: create a temporary data dir: %v", err), 1)
		}
		dataDir = d
		defer func() {
			if !strings.Contains(dataDir, "..") {
				os.RemoveAll(dataDir)
			}
		}()
	}
	if dataDir, err = filepath.Abs(dataDir); err != nil {
		return cli.Exit(fmt.Sprintf("nai agent: data dir: %v", err), 1)
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return cli.Exit(fmt.Sprintf("nai agent: data dir %s: %v", dataDir, err), 1)
	}
	// The data dir is this agent's alone, from before anything in it is
	// read to the agent's last moment (agent_lock.go).
	lock, err := lockDataDir(dataDir)
	if err != nil {
		return cli.Exit("nai agent: "+dataDirLockMessage(err, "-data-dir"), 1)
	}
	defer lock.release()
	if ctx.Err() != nil {
		return stops.stoppedWhileStarting()
	}
	nodeName := c.String("node-name")
	if nodeName == "" {
		nodeName, _ = os.Hostname()
		if nodeName == "" {
			nodeName = "dev"
		}
	}

	// A dev agent is for one person on one machine: ACLs are off unless
	// asked for, and tasks may run as root unless refused.
	aclOn := c.IsSet("acl-enabled") && c.Bool("acl-enabled")
	rootTasks := client.RootTasksAllow
	if c.IsSet("allow-root-tasks") && !c.Bool("allow-root-tasks") {
		rootTasks = client.RootTasksRefuse
	}
	tlsCfg := tlsutil.Config{CAFile: c.String("tls-ca-file"), CertFile: c.String("tls-cert-file"), KeyFile: c.String("tls-key-file"),
		VerifyServerHostname: c.Bool("tls-verify-server-hostname"), Datacenter: "dc1"}
	var tlsAgent *tlsutil.Agent
	if tlsCfg.Enabled() {
		if tlsAgent, err = tlsutil.Load(tlsCfg); err != nil {
			return cli.Exit(fmt.Sprintf("nai agent: tls: %v", err), 1)
		}
	}
	var servicePorts structs.PortRange
	if c.IsSet("service-ports") {
		if servicePorts, err = structs.ParsePortRange(c.String("service-ports")); err != nil {
			return cli.Exit(fmt.Sprintf("nai agent: -service-ports: %v", err), 1)
		}
	}
	ln, err := net.Listen("tcp", c.String("http-addr"))
	if err != nil {
		return cli.Exit(fmt.Sprintf("nai agent: listen on %s: %v (is another agent running? choose another with -http-addr)", c.String("http-addr"), err), 1)
	}
	httpAddr := "http://" + ln.Addr().String()
	if tlsAgent != nil {
		httpAddr = "https://" + ln.Addr().String()
		ln = tls.NewListener(ln, tlsAgent.ServerConfig())
	}

	defer ln.Close()
	go trimIdleMemory(ctx, logger)

	var blobRetention time.Duration
	if c.IsSet("blob-retention") {
		if blobRetention, err = time.ParseDuration(c.String("blob-retention")); err != nil || blobRetention <= 0 {
			return cli.Exit(fmt.Sprintf("nai agent: -blob-retention %q is not a positive duration such as \"24h\"", c.String("blob-retention")), 1)
		}
	}
	var gcThreshold time.Duration
	if c.IsSet("job-gc-threshold") {
		if gcThreshold, err = time.ParseDuration(c.String("job-gc-threshold")); err != nil || gcThreshold < time.Minute {
			return cli.Exit(fmt.Sprintf("nai agent: -job-gc-threshold %q is not a duration of a minute or more such as \"72h\"", c.String("job-gc-threshold")), 1)
		}
	}
	logger.Info("garbage collector", "setting", serverGC())
	srv, err := server.New(server.Config{
		JobGCThreshold: gcThreshold,
		BlobRetention:  blobRetention,
		DataDir:        filepath.Join(dataDir, "server"),
		NodeName:       nodeName,
		RaftAddr:       "127.0.0.1:0",
		Bootstrap:      true,
		Scheduler:      scheduler.DefaultConfig(),
		ACL:            server.ACLConfig{Enabled: aclOn},
		TLS:            tlsAgent,
		Logger:         logger.With("component", "server"),
	})
	if err != nil {
		if ctx.Err() != nil {
			return stops.stoppedWhileStarting()
		}
		return cli.Exit(fmt.Sprintf("nai agent: start server: %v", err), 1)
	}
	defer srv.Shutdown()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = srv.WaitForLeader(wctx)
	cancel()
	if ctx.Err() != nil {
		return stops.stoppedWhileStarting()
	}
	if err != nil {
		return cli.Exit(fmt.Sprintf("nai agent: %v", err), 1)
	}

	host, err := fingerprint.FingerprintDev(c.Int("dev-gpus"), logger.With("component", "fingerprint"))
	if err != nil {
		return cli.Exit(fmt.Sprintf("nai agent: fingerprint: %v", err), 1)
	}
	if ctx.Err() != nil {
		return stops.stoppedWhileStarting()
	}
	cg, err := cgroups.New(c.String("cgroup-parent"), logger.With("component", "cgroups"))
	if err != nil {
		if c.String("cgroup-parent") != "" {
			return cli.Exit(fmt.Sprintf("nai agent: cgroups: %v", err), 1)
		}
		logger.Error("cgroups unavailable: jobs will run WITHOUT memory, CPU and device limits", "err", err)
		cg = nil
	}
	exe, err := os.Executable()
	if err != nil {
		return cli.Exit(fmt.Sprintf("nai agent: find own binary: %v", err), 1)
	}
	apiCfg := api.Config{Address: httpAddr, IgnoreEnv: true}
	if tlsAgent != nil {
		apiCfg.TLS = tlsAgent.ClientConfig(false)
	}
	apiClient, err := api.New(apiCfg)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	cl, err := client.New(client.Config{
		DataDir:        filepath.Join(dataDir, "client"),
		NodeName:       nodeName,
		Datacenter:     "dc1",
		HTTPAddr:       httpAddr,
		Servers:        apiClient,
		Host:           host,
		Cgroups:        cg,
		CgroupParent:   c.String("cgroup-parent"),
		ExecutorBinary: executorBinary(exe),
		Logger:         logger.With("component", "client"),
		RootTasks:      rootTasks,
		ACLEnabled:     aclOn,
		RegisterToken:  srv.ServerSecret,
		ServicePorts:   servicePorts,
	})
	if err != nil {
		return cli.Exit(fmt.Sprintf("nai agent: start client: %v", err), 1)
	}
	if ctx.Err() != nil {
		releaseCgroups(cg, logger)
		return stops.stoppedWhileStarting()
	}

	mux := http.NewServeMux()
	srv.Routes(mux)
	mux.Handle("GET /v1/client/allocations/{id}/logs", cl.Handler())
	mux.Handle("POST /v1/client/dev/gpu-fault", cl.Handler()) // 404 unless the GPUs are fake
	mux.Handle("GET /v1/client/allocations/{id}/metrics", cl.Handler())
	if err := serveClientMetrics(mux, srv, cl); err != nil {
		return cli.Exit(fmt.Sprintf("nai agent: metrics: %v", err), 1)
	}
	if c.Bool("enable-debug") {
		serveDebug(mux)
	}
	// Long-polls and log streams see their context end when the agent
	// stops, so shutdown does not wait for them.
	baseCtx, baseCancel := context.WithCancel(context.Background())
	defer baseCancel()
	hs := &http.Server{Handler: server.GuardServicePaths(mux), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: server.HTTPIdleTimeout, BaseContext: func(net.Listener) context.Context { return baseCtx },
		ErrorLog: slog.NewLogLogger(logger.With("component", "http").Handler(), slog.LevelWarn)}
	httpErr := make(chan error, 1)
	go func() { httpErr <- hs.Serve(ln) }()

	clientErr := make(chan error, 1)
	cctx, ccancel := context.WithCancel(ctx)
	defer ccancel()
	go func() { clientErr <- cl.Run(cctx) }()

	gpuDesc := fmt.Sprintf("%d", len(host.GPUs))
	if len(host.GPUs) > 0 {
		gpuDesc += " x " + host.GPUs[0].Model
	}
	if host.Fake {
		gpuDesc += " (fake)"
	}
	cgDesc := "none (limits not enforced)"
	if cg != nil {
		cgDesc = fmt.Sprintf("v%d", cg.Version())
	}
	if !aclOn {
		warnOpen(logger, ln.Addr().String())
	}
	fmt.Fprintf(os.Stderr, "==> nai dev agent ready\n    http:     %s\n    data dir: %s\n    node:     %s (%s)\n    GPUs:     %s\n    cgroups:  %s\n    acl:      %s\n",
		httpAddr, dataDir, nodeName, cl.NodeID(), gpuDesc, cgDesc, onOff(aclOn))
	stops.up()

	select {
	case <-ctx.Done():
	case err := <-httpErr:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("http server stopped", "err", err)
		}
	case err := <-clientErr:
		if err != nil && ctx.Err() == nil {
			logger.Error("client stopped", "err", err)
		}
	}
	fmt.Fprintln(os.Stderr, "==> nai agent shutting down")
	ccancel()
	baseCancel()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = hs.Shutdown(sctx)
	scancel()
	if err := srv.Shutdown(); err != nil {
		logger.Error("server shutdown", "err", err)
	}
	releaseCgroups(cg, logger)
	return nil
}

// devFlags are the cluster flags a dev agent reads; it has no use for the
// others (ports, roles, joins, -config files).
var devFlags = map[string]bool{
	"acl-enabled": true, "allow-root-tasks": true, "service-ports": true,
	"blob-retention": true, "job-gc-threshold": true,
	"tls-ca-file": true, "tls-cert-file": true, "tls-key-file": true, "tls-verify-server-hostname": true,
}

// checkDevFlags refuses a cluster flag given with -dev, which would
// otherwise be dropped without a word: a dev agent told -http-port 5000
// listened on 4646 all the same.
func checkDevFlags(c *cli.Context) error {
	for _, f := range clusterFlags() {
		name := f.Names()[0]
		if devFlags[name] || !c.IsSet(name) {
			continue
		}
		hint := "drop it, or run a cluster agent (without -dev)"
		switch name {
		case "http-port", "bind-addr":
			hint = "a dev agent listens on -http-addr HOST:PORT (default 127.0.0.1:4646)"
		case "config":
			hint = "a dev agent reads no configuration file; run a cluster agent with it (without -dev)"
		}
		return fmt.Errorf("nai agent -dev: -%s is a cluster agent's flag, which a dev agent does not use: %s", name, hint)
	}
	return nil
}
