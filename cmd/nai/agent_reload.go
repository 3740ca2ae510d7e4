//go:build !nai_cli

package main

import (
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/nai-project/nai/internal/tlsutil"
	"github.com/nai-project/nai/structs"
	"golang.org/x/sys/unix"
)

// A cluster agent reloads its configuration on SIGHUP (`systemctl reload`):
// it reads the -config files again, applies the flags given at start over
// them, validates the result, and applies what can change while it runs.
// Running jobs are never touched. A configuration with errors changes
// nothing: the agent logs every problem and keeps the one in force.
//
// What a reload applies:
//
//	log_level         at once, for every component
//	client.reserved   the node registers again offering the host's CPU and
//	                  memory less the new reservation
//
//	tls               the CA, certificate and key files are read again (same
//	                  paths); new connections use them, open ones go on
//	client.prolog,    the jobs that start after the reload run the new hooks
//	client.epilog,    (agent_hooks.go)
//	client.hook_timeout
//
// Every other setting changes only at restart; a reload that finds one
// changed says so and keeps the running value.

// capacitySetter is the client's side of a reload (client.Client).
type capacitySetter interface {
	SetCapacity(cpu float64, memoryBytes int64)
}

// agentReloader holds the configuration in force and applies new ones.
type agentReloader struct {
	// load reads the configuration as at start: files, then flags,
	// validated.
	load   func() (*agentConfig, error)
	cfg    *agentConfig
	level  *slog.LevelVar
	logger *slog.Logger
	// client is nil on a server-only agent; hostCPU and hostMemory are the
	// fingerprint's totals, before the reservation.
	client     capacitySetter
	hostCPU    float64
	hostMemory int64
	// notify tells the service manager (systemd) about the reload; nil
	// means sdNotify.
	notify func(state string)
	// tls is the agent's TLS material, nil without TLS.
	tls *tlsutil.Agent
	// hooks is nil on a server-only agent.
	hooks hookSetter
}

// reload re-reads the configuration and applies it, or keeps the one in
// force when it has errors (returned, and logged).
func (r *agentReloader) reload() error {
	notify := r.notify
	if notify == nil {
		notify = func(state string) { sdNotify(r.logger, state) }
	}
	notify(reloadingState())
	defer notify("READY=1")

	next, err := r.load()
	if err != nil {
		r.logger.Error("reload failed: keeping the configuration in force", "err", err)
		return fmt.Errorf("reload: %w", err)
	}
	if r.client != nil {
		if err := checkReservation(r.hostCPU, r.hostMemory, next.Client.ReservedCPU, next.Client.ReservedMemory); err != nil {
			r.logger.Error("reload failed: keeping the configuration in force", "err", err)
			return fmt.Errorf("reload: %w", err)
		}
	}
	var applied []string
	if next.LogLevel != r.cfg.LogLevel {
		level, _ := parseLevel(next.LogLevel) // validated by load
		r.level.Set(level)
		applied = append(applied, fmt.Sprintf("log_level %s -> %s", r.cfg.LogLevel, next.LogLevel))
		r.cfg.LogLevel = next.LogLevel
	}
	if r.client != nil && (next.Client.ReservedCPU != r.cfg.Client.ReservedCPU || next.Client.ReservedMemory != r.cfg.Client.ReservedMemory) {
		cpu, mem := offered(r.hostCPU, r.hostMemory, next.Client.ReservedCPU, next.Client.ReservedMemory)
		r.client.SetCapacity(cpu, mem)
		applied = append(applied, fmt.Sprintf("client.reserved cpu %v -> %v, memory %d -> %d bytes (offered: %v cores, %d bytes)",
			r.cfg.Client.ReservedCPU, next.Client.ReservedCPU, r.cfg.Client.ReservedMemory, next.Client.ReservedMemory, cpu, mem))
		r.cfg.Client.ReservedCPU, r.cfg.Client.ReservedMemory = next.Client.ReservedCPU, next.Client.ReservedMemory
	}
	if what, err := r.reloadHooks(next); err != nil {
		r.logger.Error("reload: node hooks not changed", "err", err)
		return fmt.Errorf("reload: %w", err)
	} else if what != "" {
		applied = append(applied, what)
	}
	if r.tls != nil {
		if err := r.tls.Reload(); err != nil {
			r.logger.Error("reload: TLS certificates not reloaded; the old ones stay in use", "err", err)
			return fmt.Errorf("reload: %w", err)
		}
		applied = append(applied, "tls certificates re-read")
	}
	if pending := restartSettingsChanged(r.cfg, next); len(pending) > 0 {
		r.logger.Warn("reload: these settings change only when the agent restarts; the running values stay", "settings", strings.Join(pending, ", "))
	}
	if len(applied) == 0 {
		r.logger.Info("configuration reloaded: nothing to change")
	} else {
		r.logger.Info("configuration reloaded", "applied", strings.Join(applied, "; "))
	}
	return nil
}

// checkReservation refuses a reservation that leaves the host nothing to
// offer: the node would register with no CPU or no memory and never run a
// job.
func checkReservation(hostCPU float64, hostMemory int64, reservedCPU float64, reservedMemory int64) error {
	var problems []string
	if reservedCPU > 0 && reservedCPU >= hostCPU {
		problems = append(problems, fmt.Sprintf("client.reserved.cpu %v is not below the host's %v cores", reservedCPU, hostCPU))
	}
	if reservedMemory > 0 && reservedMemory >= hostMemory {
		problems = append(problems, fmt.Sprintf("client.reserved.memory %s is not below the host's %s", structs.FormatSize(reservedMemory), structs.FormatSize(hostMemory)))
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%s: the node would offer nothing to jobs; reserve less (-reserved-cpu, -reserved-memory)", strings.Join(problems, "; "))
}

// offered is what a client offers to jobs: the host less the reservation.
func offered(hostCPU float64, hostMemory int64, reservedCPU float64, reservedMemory int64) (float64, int64) {
	return max(hostCPU-reservedCPU, 0), max(hostMemory-reservedMemory, 0)
}

// restartSettings are the settings a reload cannot apply, by their name in
// the configuration file.
var restartSettings = []struct {
	name string
	get  func(*agentConfig) any
}{
	{"node_name", func(c *agentConfig) any { return c.NodeName }},
	{"datacenter", func(c *agentConfig) any { return c.Datacenter }},
	{"data_dir", func(c *agentConfig) any { return c.DataDir }},
	{"bind_addr", func(c *agentConfig) any { return c.BindAddr }},
	{"ports", func(c *agentConfig) any { return c.Ports }},
	{"http_addr", func(c *agentConfig) any { return c.HTTPAddr }},
	{"join", func(c *agentConfig) any { return c.Join }},
	{"encrypt", func(c *agentConfig) any { return c.Encrypt }},
	{"tls files", func(c *agentConfig) any { return [3]string{c.TLS.CAFile, c.TLS.CertFile, c.TLS.KeyFile} }},
	{"acl", func(c *agentConfig) any { return c.ACL }},
	{"server", func(c *agentConfig) any { return c.Server }},
	{"client.enabled", func(c *agentConfig) any { return c.Client.Enabled }},
	{"client.dev_gpus", func(c *agentConfig) any { return c.Client.DevGPUs }},
	{"client.cgroup_parent", func(c *agentConfig) any { return c.Client.CgroupParent }},
	{"client.allow_root_tasks", func(c *agentConfig) any { return c.Client.AllowRootTasks }},
	{"acl", func(c *agentConfig) any { return c.ACL }},
}

func restartSettingsChanged(old, next *agentConfig) []string {
	var out []string
	for _, s := range restartSettings {
		if !reflect.DeepEqual(s.get(old), s.get(next)) {
			out = append(out, s.name)
		}
	}
	return out
}

// sdNotify sends a state to systemd when the agent runs as a Type=notify
// service ($NOTIFY_SOCKET set); elsewhere it does nothing.
func sdNotify(logger *slog.Logger, state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		logger.Warn("cannot notify the service manager", "state", state, "err", err)
	}
}

// reloadingState is RELOADING=1 with the monotonic time, which systemd's
// Type=notify-reload wants with it.
func reloadingState() string {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return "RELOADING=1"
	}
	return fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d", ts.Nano()/int64(time.Microsecond))
}
