//go:build !nai_cli

package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/cgroups"
	"github.com/nai-project/nai/client"
	"github.com/nai-project/nai/client/fingerprint"
	"github.com/nai-project/nai/internal/gossipkey"
	"github.com/nai-project/nai/internal/tlsutil"
	"github.com/nai-project/nai/internal/version"
	"github.com/nai-project/nai/membership"
	"github.com/nai-project/nai/server"
	"github.com/nai-project/nai/structs"
)

// runClusterAgent runs a server, a client, or both, as one member of a
// cluster found through serf. SIGINT leaves the cluster gracefully (a
// server is removed from raft); SIGTERM stops without leaving (a server
// stays a voter and is expected back).
func runClusterAgent(c *cli.Context) error {
	cfg, err := agentConfigFrom(c)
	if err != nil {
		return cli.Exit("nai agent: "+err.Error(), 1)
	}
	level, _ := parseLevel(cfg.LogLevel)
	levelVar := new(slog.LevelVar) // a reload (SIGHUP) may change it
	levelVar.Set(level)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: levelVar})).With("agent", cfg.NodeName)
	fail := func(format string, args ...any) error {
		return cli.Exit("nai agent: "+fmt.Sprintf(format, args...), 1)
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return fail("data dir: %v", err)
	}
	// Addresses first: a mistaken address or port leaves no data dir
	// behind.
	if err := checkLocalAddress("bind_addr", cfg.BindAddr); err != nil {
		return fail("%v", err)
	}
	if cfg.HTTPAddr != "" {
		if host, _, err := net.SplitHostPort(cfg.HTTPAddr); err == nil {
			if err := checkLocalAddress("http_addr", host); err != nil {
				return fail("%v", err)
			}
		}
	}

	// SIGINT and SIGTERM stop the agent from here on, while it starts
	// too (agent_signals.go).
	stops := catchStopSignals()
	defer stops.stop()
	trimCtx, stopTrim := context.WithCancel(context.Background())
	defer stopTrim()
	go trimIdleMemory(trimCtx, logger)
	// SIGHUP reloads the configuration (agent_reload.go); caught from the
	// start so that an early one does not kill the agent.
	hupCh := make(chan os.Signal, 1)
	signal.Notify(hupCh, syscall.SIGHUP)
	defer signal.Stop(hupCh)

	var tlsAgent *tlsutil.Agent
	scheme := "http"
	if cfg.TLS.Enabled() {
		if tlsAgent, err = tlsutil.Load(cfg.TLS); err != nil {
			return fail("tls: %v", err)
		}
		scheme = "https"
	}
	ln, err := net.Listen("tcp", cfg.httpListenAddr())
	if err != nil {
		setting := "ports.http"
		if cfg.HTTPAddr != "" {
			setting = "-http-addr"
		}
		return fail("listen on %s: %v (%s)", cfg.httpListenAddr(), err, listenHint(setting, cfg.httpListenAddr(), err))
	}
	defer ln.Close()
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fail("data dir %s: %v", dataDir, err)
	}
	// The data dir is this agent's alone, from before anything in it is
	// read to the agent's last moment (agent_lock.go).
	lock, err := lockDataDir(dataDir)
	if err != nil {
		return fail("%s", dataDirLockMessage(err, "-data-dir (data_dir)"))
	}
	defer lock.release()
	if stops.ctx.Err() != nil {
		return stops.stoppedWhileStarting()
	}
	httpHostPort := ln.Addr().String()
	if tlsAgent != nil {
		// Every caller must show a certificate of the cluster's CA
		// (unless verify_https_client = false); a plain HTTP request
		// gets a 400 from net/http.
		ln = tls.NewListener(ln, tlsAgent.HTTPConfig())
	}
	tags := membership.Tags{
		Server: cfg.Server.Enabled, Client: cfg.Client.Enabled, Version: membership.TagsVersion,
		Datacenter: cfg.Datacenter, HTTPAddr: httpHostPort,
	}

	var srv *server.Server
	if cfg.Server.Enabled {
		// Without TLS, raft connections prove both ends hold the gossip
		// key (server/raft_transport.go).
		var raftKey []byte
		if cfg.Encrypt != "" {
			if raftKey, err = gossipkey.Decode(cfg.Encrypt); err != nil {
				return fail("encrypt: %v", err)
			}
		}
		logger.Info("garbage collector", "setting", serverGC())
		srv, err = server.New(server.Config{
			DataDir:         filepath.Join(dataDir, "server"),
			NodeName:        cfg.NodeName,
			RaftAddr:        net.JoinHostPort(cfg.BindAddr, fmt.Sprint(cfg.Ports.Raft)),
			Datacenter:      cfg.Datacenter,
			BootstrapExpect: cfg.Server.BootstrapExpect,
			RaftMultiplier:  cfg.Server.RaftMultiplier,
			NodeDownGrace:   cfg.Server.NodeDownGrace,
			BlobReplicas:    cfg.Server.BlobReplicas,
			BlobRetention:   cfg.Server.BlobRetention,
			JobGCThreshold:  cfg.Server.JobGCThreshold,
			ACL:             cfg.serverACL(),
			TLS:             tlsAgent,
			RaftKey:         raftKey,
			Logger:          logger.With("component", "server"),
			// Uploads a user keeps unused (server/blob_claims.go).
			UploadPendingLimit: cfg.Server.UploadPendingLimit,

			// Autopilot (server/autopilot.go).
			CleanupDeadServers:  cfg.Server.CleanupDeadServers,
			DeadServerThreshold: cfg.Server.DeadServerThreshold,
		})
		if err != nil {
			if stops.ctx.Err() != nil {
				return stops.stoppedWhileStarting()
			}
			return fail("start server: %v", err)
		}
		defer srv.Shutdown()
		if stops.ctx.Err() != nil {
			return stops.stoppedWhileStarting()
		}
		tags.RaftAddr = srv.RaftAddr()
		tags.BootstrapExpect = cfg.Server.BootstrapExpect
	}

	var cl *client.Client
	var host *fingerprint.Host
	var cg cgroups.Manager
	var hostCPU float64
	var hostMemory int64
	if cfg.Client.Enabled {
		host, err = fingerprint.Fingerprint(fingerprint.Options{DevGPUs: cfg.Client.DevGPUs, DevSeed: cfg.NodeName, Logger: logger.With("component", "fingerprint")})
		if err != nil {
			return fail("fingerprint: %v", err)
		}
		if stops.ctx.Err() != nil {
			return stops.stoppedWhileStarting()
		}
		hostCPU, hostMemory = host.CPU, host.MemoryBytes
		if err := checkReservation(hostCPU, hostMemory, cfg.Client.ReservedCPU, cfg.Client.ReservedMemory); err != nil {
			return fail("%v", err)
		}
		host.CPU, host.MemoryBytes = offered(hostCPU, hostMemory, cfg.Client.ReservedCPU, cfg.Client.ReservedMemory)
		// Under systemd on cgroup v2 the agent moves into a leaf of its
		// delegated cgroup first (agent_cgroup.go).
		cgParent := delegatedCgroupParent(cfg.Client.CgroupParent, logger)
		cg, err = cgroups.New(cgParent, logger.With("component", "cgroups"))
		if err != nil {
			if cfg.Client.CgroupParent != "" {
				return fail("cgroups: %v", err)
			}
			logger.Error("cgroups unavailable: jobs will run WITHOUT memory, CPU and device limits", "err", err)
			cg = nil
		}
		exe, err := os.Executable()
		if err != nil {
			return fail("find own binary: %v", err)
		}
		// The client talks to its own agent's API: a server agent answers
		// (forwarding to the leader), a client-only agent passes requests
		// to a live server found through serf and fails over.
		localCfg := api.Config{Address: scheme + "://" + httpHostPort, Token: cfg.ACL.AgentToken, IgnoreEnv: true}
		if tlsAgent != nil {
			localCfg.TLS = tlsAgent.ClientConfig(false)
		}
		local, err := api.New(localCfg)
		if err != nil {
			return fail("%v", err)
		}
		rootTasks := client.RootTasksRefuse
		if cfg.Client.AllowRootTasks {
			rootTasks = client.RootTasksAllow
		}
		var registerToken func() string
		if srv != nil {
			registerToken = srv.ServerSecret
		}
		cl, err = client.New(client.Config{
			DataDir:        filepath.Join(dataDir, "client"),
			NodeName:       cfg.NodeName,
			Datacenter:     cfg.Datacenter,
			HTTPAddr:       scheme + "://" + httpHostPort,
			Servers:        local,
			Host:           host,
			Cgroups:        cg,
			CgroupParent:   cgParent,
			ExecutorBinary: executorBinary(exe),
			Logger:         logger.With("component", "client"),
			ACLEnabled:     cfg.ACL.Enabled,
			RegisterToken:  registerToken,
			RootTasks:      rootTasks,
			Hooks:          cfg.clientHooks(),
			ServicePorts:   cfg.Client.ServicePorts,
			LogMaxBytes:    cfg.Client.LogMaxBytes,
			MinFreeDisk:    cfg.Client.MinFreeDisk,
		})
		if err != nil {
			return fail("start client: %v", err)
		}
		if cfg.ACL.Enabled && cfg.ACL.AgentToken == "" && srv == nil {
			logger.Warn("acl is enabled but acl.agent_token is not set: this client cannot register its node the first time (make one with: nai token create -policy node -name gpu-hosts)")
		}
		tags.NodeID = cl.NodeID()
	}
	if stops.ctx.Err() != nil {
		releaseCgroups(cg, logger)
		return stops.stoppedWhileStarting()
	}

	m, err := membership.New(membership.Config{
		NodeName: cfg.NodeName, BindAddr: cfg.BindAddr, BindPort: cfg.Ports.Serf,
		Tags: tags, EncryptKey: cfg.Encrypt, Logger: logger,
	})
	if err != nil {
		return fail("%v", err)
	}
	if cl != nil {
		cl.SetProblems(m.Problems()) // a data dir low on space (client/disk.go)
	}
	left := false
	defer func() {
		if !left {
			_ = m.Shutdown()
		}
	}()
	if srv != nil {
		if err := srv.StartCluster(m); err != nil {
			return fail("start cluster: %v", err)
		}
	}

	mux := http.NewServeMux()
	if srv != nil {
		srv.Routes(mux)
	} else {
		mux.HandleFunc("GET /v1/agent/self", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(server.AgentSelfOf(m))
		})
		// A client agent's own health, for a load balancer in front of
		// client agents: answered here, not passed to a server (whose
		// name and health it would be), from what gossip shows.
		mux.HandleFunc("GET /v1/agent/health", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			h := clientHealth(m.Local().Name, m.Members(), cfg.Datacenter)
			if h.Status != "ok" {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			_ = json.NewEncoder(w).Encode(h)
		})
		if cfg.ACL.Enabled && tlsAgent == nil && cfg.Encrypt == "" {
			// Nothing tells a server from a program that says it is one.
			logger.Warn("neither tls nor encrypt is set: gossip is open, and this agent passes requests (with their tokens and this node's secret) to any serf member that says it is a server; set encrypt (nai operator keygen) on every agent, or a tls block")
		}
		var proxyTLS *tls.Config
		if tlsAgent != nil {
			// Requests carry users' tokens and the node's secret: only
			// a holder of a server certificate gets them, whatever
			// verify_server_hostname says.
			proxyTLS = tlsAgent.ServerPeerClientConfig()
		}
		mux.Handle("/v1/", membership.NewServerProxy(m, cfg.Datacenter, logger.With("component", "server-proxy"), proxyTLS))
	}
	if cl != nil {
		mux.Handle("GET /v1/client/allocations/{id}/logs", cl.Handler())
		mux.Handle("POST /v1/client/dev/gpu-fault", cl.Handler()) // 404 unless the GPUs are fake
		mux.Handle("GET /v1/client/allocations/{id}/metrics", cl.Handler())
		if err := serveClientMetrics(mux, srv, cl); err != nil {
			return fail("metrics: %v", err)
		}
	}
	if c.Bool("enable-debug") {
		serveDebug(mux)
	}
	baseCtx, baseCancel := context.WithCancel(context.Background())
	defer baseCancel()
	hs := &http.Server{Handler: server.GuardServicePaths(mux), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: server.HTTPIdleTimeout, BaseContext: func(net.Listener) context.Context { return baseCtx },
		ErrorLog: slog.NewLogLogger(logger.With("component", "http").Handler(), slog.LevelWarn)}
	httpErr := make(chan error, 1)
	go func() { httpErr <- hs.Serve(ln) }()

	runCtx, runCancel := context.WithCancel(context.Background())
	defer runCancel()
	if len(cfg.Join) > 0 {
		m.JoinRetry(runCtx, cfg.Join, membership.RetryPolicy{}, nil)
	}
	clientErr := make(chan error, 1)
	if cl != nil {
		go func() { clientErr <- cl.Run(runCtx) }()
	}

	if !cfg.ACL.Enabled {
		warnOpen(logger, httpHostPort)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "==> nai agent ready\n    http:     %s://%s\n    serf:     %s\n", scheme, httpHostPort, m.Addr())
	if srv != nil {
		fmt.Fprintf(&b, "    raft:     %s\n", srv.RaftAddr())
	}
	fmt.Fprintf(&b, "    data dir: %s\n    node:     %s (%s, datacenter %s)\n", dataDir, cfg.NodeName, tags.Role(), cfg.Datacenter)
	if cl != nil {
		fmt.Fprintf(&b, "    node id:  %s\n    GPUs:     %d\n", cl.NodeID(), len(host.GPUs))
	}
	fmt.Fprintf(&b, "    acl:      %s\n", onOff(cfg.ACL.Enabled))
	fmt.Fprintf(&b, "    version:  %s\n", version.Get())
	fmt.Fprint(os.Stderr, b.String())
	sdNotify(logger, "READY=1")
	stops.up()

	reloader := &agentReloader{
		tls:    tlsAgent,
		load:   func() (*agentConfig, error) { return agentConfigFrom(c) },
		cfg:    cfg,
		level:  levelVar,
		logger: logger,
	}
	if cl != nil {
		reloader.client, reloader.hostCPU, reloader.hostMemory = cl, hostCPU, hostMemory
		reloader.hooks = cl
	}
	leave := false
wait:
	for {
		select {
		case <-hupCh:
			_ = reloader.reload() // logged; the old configuration stays
		case <-stops.ctx.Done():
			// SIGINT leaves the cluster; SIGTERM stops without
			// leaving.
			leave = stops.signal() == os.Interrupt
			break wait
		case err := <-httpErr:
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("http server stopped", "err", err)
			}
			break wait
		case err := <-clientErr:
			if err != nil {
				logger.Error("client stopped", "err", err)
			}
			break wait
		}
	}
	sdNotify(logger, "STOPPING=1")
	fmt.Fprintln(os.Stderr, "==> nai agent shutting down")
	// A second signal stops at once (agent_signals.go).
	runCancel()
	if leave {
		logger.Info("leaving the cluster")
		leaveFn := m.Leave
		if srv != nil {
			leaveFn = srv.Leave
		}
		if err := leaveFn(); err != nil {
			logger.Error("leave", "err", err)
		}
		left = true
	}
	baseCancel()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = hs.Shutdown(sctx)
	scancel()
	releaseCgroups(cg, logger)
	return nil
}

// warnOpen says loudly that an agent without ACLs listens where others can
// reach it: anyone who reaches the port can run code on every GPU host.
func warnOpen(logger *slog.Logger, hostPort string) {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return
	}
	logger.Error("ACLs are DISABLED and the HTTP API listens on a non-loopback address: anyone who can reach " + hostPort +
		" can run any code on every GPU host of this cluster and read every job's logs and outputs. Enable acl { enabled = true }.")
}

func onOff(b bool) string {
	if b {
		return "enabled"
	}
	return "DISABLED (anyone who reaches the API may do anything)"
}

// clientHealth is a client-only agent's answer to GET /v1/agent/health:
// ok while gossip shows a server of its datacenter alive, to which it
// passes the API's requests; "no_servers" (503) when it shows none.
func clientHealth(name string, members []membership.Member, dc string) structs.AgentHealth {
	for _, x := range members {
		if x.Tags.Server && x.Tags.Datacenter == dc && x.Alive() {
			return structs.AgentHealth{Status: "ok", Name: name}
		}
	}
	return structs.AgentHealth{Status: "no_servers", Name: name,
		Message: "no server of datacenter " + dc + " is alive in gossip: this agent cannot pass requests on"}
}
