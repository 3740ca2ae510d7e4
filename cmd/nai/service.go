package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/internal/jobtext"
	"github.com/nai-project/nai/structs"
)

// serveCommand is `nai serve`: a model version becomes a service.
func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve a model version as a web service, called through any server at /v1/services/NAME/",
		Description: "Each replica runs the model's serve command (or the COMMAND after --) in NAI_MODEL_DIR, and must:\n" +
			"  - listen for HTTP on port $NAI_PORT (picked by its node from the client's service_ports), on all\n" +
			"    addresses or the node's address: the node checks it and the servers call it at NODE:$NAI_PORT;\n" +
			"  - answer GET /health with a status below 400 (redirects are followed) within 1s.\n" +
			"The node checks every 2s (every 250ms until the first answer after a start). Calls go only to\n" +
			"replicas whose last check passed, with /v1/services/NAME taken off the path: a call to\n" +
			"/v1/services/NAME/predict reaches the replica as /predict. Failed checks in the 30s after each\n" +
			"start do not count; 3 failed in a row, or an exit, restart the replica (nai service status shows\n" +
			"its last exit and check). A job of type \"service\" sets the path and times in its health block.",
		ArgsUsage: "[-name NAME] [-replicas N] [-gpus N] [-cpu N] [-memory SIZE] [-group G] [-queue Q] [-public] " +
			"[-env K=V] [-wait DURATION] [-json] MODEL[:VERSION] [-- COMMAND...]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Usage: "service name (default: the model's name)"},
			&cli.IntFlag{Name: "replicas", Value: 1, Usage: "how many copies run"},
			&cli.IntFlag{Name: "gpus", Usage: "GPUs per replica"},
			&cli.Float64Flag{Name: "cpu", Usage: "cores per replica (default 1)"},
			&cli.StringFlag{Name: "memory", Usage: "memory per replica, such as 4GiB (default 1GiB)"},
			&cli.StringFlag{Name: "group", Usage: "group that owns the service (its readers may call it)"},
			&cli.StringFlag{Name: "queue", Usage: "queue (default: default)"},
			&cli.BoolFlag{Name: "public", Usage: "anyone may call it, without a token"},
			&cli.StringSliceFlag{Name: "env", Usage: "environment of the command, KEY=VALUE; repeatable"},
			&cli.DurationFlag{Name: "wait", Usage: "wait this long for every replica to be healthy (0: do not wait)"},
			jsonFlag(), addressFlag(),
		},
		Action: serveAction,
	}
}

// serviceCommand is `nai service ...`.
func serviceCommand() *cli.Command {
	return &cli.Command{
		Name:   "service",
		Usage:  "list, inspect, scale, roll out and stop services (started by nai serve or a job of type \"service\")",
		Action: parentAction,
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "list the running services", ArgsUsage: "[-json]", Flags: []cli.Flag{jsonFlag(), addressFlag()}, Action: serviceList},
			{Name: "status", Usage: "show a service and its replicas: node, address, health, restarts", ArgsUsage: "[-json] NAME",
				Flags: []cli.Flag{jsonFlag(), addressFlag()}, Action: serviceStatus},
			{
				Name: "logs", Usage: "print a replica's stdout (or stderr)", ArgsUsage: "[-replica N] [-stderr] [-f] NAME",
				Flags: []cli.Flag{
					&cli.IntFlag{Name: "replica", Usage: "which replica (default 0)"},
					&cli.BoolFlag{Name: "stderr", Usage: "print stderr instead of stdout"},
					&cli.BoolFlag{Name: "f", Usage: "follow the log while the replica runs"},
					addressFlag(),
				},
				Action: serviceLogs,
			},
			{Name: "scale", Usage: "set how many replicas run", ArgsUsage: "[-json] NAME N", Flags: []cli.Flag{jsonFlag(), addressFlag()}, Action: serviceScale},
			{
				Name:      "rollout",
				Usage:     "move a service to another model version: new replicas start, and once they are healthy the old ones stop",
				ArgsUsage: "-model MODEL:VERSION [-timeout 5m] [-wait] [-json] NAME [-- COMMAND...]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "model", Usage: "the model version to serve, NAME:VERSION"},
					&cli.DurationFlag{Name: "timeout", Value: structs.DefaultRolloutTimeout, Usage: "how long the new replicas have to become healthy before the rollout is rolled back"},
					&cli.BoolFlag{Name: "wait", Usage: "wait until the rollout completes or is rolled back (exit 1 then)"},
					jsonFlag(), addressFlag(),
				},
				Action: serviceRollout,
			},
			{Name: "stop", Usage: "stop a service: its replicas stop", ArgsUsage: "[-json] NAME", Flags: []cli.Flag{jsonFlag(), addressFlag()}, Action: serviceStop},
		},
	}
}

// splitCommand parses "ARGS... [-- COMMAND...]": the positional arguments
// before "--" and the command after it.
func splitCommand(args []string) (pos, command []string) {
	if i := slices.Index(args, "--"); i >= 0 {
		return args[:i], args[i+1:]
	}
	return args, nil
}

func serveAction(c *cli.Context) error {
	pos, command := splitCommand(c.Args().Slice())
	if err := needArgs(1, pos, "model (NAME or NAME:VERSION)", usageLine(c)); err != nil {
		if len(pos) > 1 {
			return &usageError{msg: fmt.Sprintf("too many arguments: %q (a command goes after --)", pos[1:]), usage: usageLine(c)}
		}
		return err
	}
	if slices.Contains(c.Args().Slice(), "--") && len(command) == 0 {
		return &usageError{msg: "no command after --", usage: usageLine(c)}
	}
	if _, _, err := structs.ParseArtifactRef(pos[0]); err != nil {
		return &usageError{msg: fmt.Sprintf("model %q: %v", pos[0], err), usage: usageLine(c)}
	}
	n := c.Int("replicas")
	if n < 1 || n > structs.MaxReplicas {
		return &usageError{msg: fmt.Sprintf("-replicas %d is out of range: expected 1 to %d", n, structs.MaxReplicas), usage: usageLine(c)}
	}
	if c.Int("gpus") < 0 || c.Float64("cpu") < 0 {
		return &usageError{msg: "-gpus and -cpu must not be negative", usage: usageLine(c)}
	}
	req := &structs.ServeRequest{
		Model: pos[0], Name: c.String("name"), Replicas: n, GPUs: c.Int("gpus"), CPU: c.Float64("cpu"),
		Group: c.String("group"), Queue: c.String("queue"), Public: c.Bool("public"), Command: command,
	}
	if m := c.String("memory"); m != "" {
		b, err := structs.ParseSize(m)
		if err != nil || b <= 0 {
			return &usageError{msg: fmt.Sprintf("-memory %q is not a size such as 4GiB", m), usage: usageLine(c)}
		}
		req.Memory = b
	}
	for _, kv := range c.StringSlice("env") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return &usageError{msg: fmt.Sprintf("-env %q: expected KEY=VALUE", kv), usage: usageLine(c)}
		}
		if req.Env == nil {
			req.Env = map[string]string{}
		}
		req.Env[k] = v
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	req.User = localOwner(cl)
	resp, err := cl.Serve(c.Context, req)
	if err != nil {
		return fmt.Errorf("serve %s: %w", pos[0], err)
	}
	if w := c.Duration("wait"); w > 0 {
		if err := waitHealthy(c, cl, resp.Name, w); err != nil {
			// The service was made and keeps running: say so, and how
			// to look at it or end it, rather than leave a failed
			// command that seems to have changed nothing.
			return fmt.Errorf("%w\nService %s (job %s) keeps running and restarting its replicas: see nai service status %s, or stop it with nai service stop %s", err, resp.Name, resp.JobID, resp.Name, resp.Name)
		}
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, resp)
	}
	for _, w := range resp.Warnings {
		fmt.Fprintln(c.App.ErrWriter, "Warning:", w)
	}
	_, err = fmt.Fprintf(c.App.Writer, "Service %s is job %s: calls go to %s\n", resp.Name, resp.JobID, cl.ServiceURL(resp.Name, "/"))
	return err
}

// waitHealthy waits until every replica of the service's current version
// is healthy, or says what the replicas are doing when time runs out.
func waitHealthy(c *cli.Context, cl *api.Client, name string, d time.Duration) error {
	deadline := time.Now().Add(d)
	var idx uint64
	for {
		left := time.Until(deadline)
		if left <= 0 {
			s, _, err := cl.Service(c.Context, name)
			if err != nil {
				return err
			}
			return fmt.Errorf("service %s: %s after %s: %s", name, healthSummary(s), d, replicaSummary(s))
		}
		s, i, err := cl.WaitService(c.Context, name, idx, min(left, 30*time.Second))
		if err != nil {
			return fmt.Errorf("wait for service %s: %w", name, err)
		}
		if s.Healthy >= s.Desired && (s.Rollout == nil || s.Rollout.Status != structs.RolloutRunning) {
			return nil
		}
		idx = i
	}
}

// replicaSummary says what each replica not healthy is doing.
func replicaSummary(s *structs.Service) string {
	var parts []string
	for _, r := range s.Replicas {
		if r.Healthy || r.Stopping {
			continue
		}
		parts = append(parts, fmt.Sprintf("replica %d (%s): %s", r.Replica, r.AllocID, replicaNote(r)))
	}
	if len(parts) == 0 {
		return "replicas not placed yet (" + jobtext.OrDash(s.Reason) + ")"
	}
	return strings.Join(parts, "; ")
}

// replicaNote says what a replica is doing. One that is not healthy
// after it ended and was started again says both how it ended and what
// the last health check got: a replica that exits at start (a crash loop)
// shows "exited (exit code 3), restarting; unhealthy: GET /health:
// connection refused", not only the refused check, which says nothing of
// why nothing listens.
func replicaNote(r structs.ReplicaStatus) string {
	switch {
	case r.Stopping:
		return "stopping"
	case r.Status == structs.AllocPending && r.Message != "":
		return r.Message
	case r.Status == structs.AllocPending:
		return "starting"
	case !r.Healthy:
		var parts []string
		if r.LastExit != "" && r.Restarts > 0 {
			parts = append(parts, lastExitWords(r.LastExit))
		}
		// Until the next check, the client's health error is "restarting
		// after <last exit>": said already.
		if h := r.HealthError; h != "" && !(r.LastExit != "" && strings.HasPrefix(h, "restarting after ")) {
			parts = append(parts, "unhealthy: "+shortHealthError(h))
		}
		if len(parts) == 0 {
			return "not healthy yet"
		}
		return strings.Join(parts, "; ")
	case r.LastExit != "":
		return "last exit: " + r.LastExit
	}
	return ""
}

// lastExitWords is how a replica's previous run ended and that it is
// started again: "exited (exit code 3), restarting", "killed by SIGSEGV,
// restarting". A run the client ended for failed checks already says so
// ("restarted (unhealthy: 3 failed checks): killed by SIGTERM").
func lastExitWords(last string) string {
	switch {
	case strings.HasPrefix(last, "restarted ("):
		return last
	case strings.HasPrefix(last, "exit code "):
		return "exited (" + last + "), restarting"
	}
	return last + ", restarting"
}

// shortHealthError drops the dialled address from a failed check's error
// ("GET /health: dial tcp 127.0.0.1:20001: connect: connection refused"
// becomes "GET /health: connection refused"): the ADDRESS column has it.
func shortHealthError(e string) string {
	d := strings.Index(e, "dial tcp ")
	if d < 0 {
		return e
	}
	c := strings.Index(e[d:], "connect: ")
	if c < 0 {
		return e
	}
	return e[:d] + e[d+c+len("connect: "):]
}

// healthSummary says which replicas are healthy: "1 of 2 replicas
// healthy". During a rollout, healthy replicas of an earlier version
// still take the calls (the gateway routes to every healthy replica that
// is not stopping, whatever its version), so they are counted too, or the
// line would read "0 of 2 replicas healthy" while two replicas serve every
// call: "2 replicas of version 1 serving; 0 of 2 of version 2 healthy".
func healthSummary(s *structs.Service) string {
	old, versions := earlierServing(s)
	if old == 0 {
		noun := "replicas"
		if s.Desired == 1 {
			noun = "replica"
		}
		return fmt.Sprintf("%d of %d %s healthy", s.Healthy, s.Desired, noun)
	}
	of := "earlier versions"
	if len(versions) == 1 {
		of = "version " + strconv.Itoa(versions[0])
	}
	return fmt.Sprintf("%s of %s serving; %d of %d of version %d healthy", plural(old, "replica"), of, s.Healthy, s.Desired, s.Version)
}

func serviceList(c *cli.Context) error {
	if err := needArgs(0, c.Args().Slice(), "", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	svcs, err := cl.Services(c.Context)
	if err != nil {
		return fmt.Errorf("list services: %w", err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, svcs)
	}
	return formatServices(c.App.Writer, svcs)
}

func formatServices(w io.Writer, svcs []*structs.Service) error {
	if len(svcs) == 0 {
		_, err := fmt.Fprintln(w, "No services run.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tJOB\tMODEL\tVERSION\tHEALTHY\tSTATUS\tPATH")
	for _, s := range svcs {
		healthy := fmt.Sprintf("%d/%d", s.Healthy, s.Desired)
		if n, _ := earlierServing(s); n > 0 {
			healthy += fmt.Sprintf(" (+%d earlier)", n) // a rollout's old replicas still serve
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", s.Name, s.JobID, jobtext.OrDash(s.Model), s.Version, healthy, s.Status, s.Path)
	}
	return tw.Flush()
}

func serviceStatus(c *cli.Context) error {
	if err := needArgs(1, c.Args().Slice(), "service name", usageLine(c)); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	s, _, err := cl.Service(c.Context, c.Args().First())
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, s)
	}
	return formatService(c.App.Writer, s, cl.ServiceURL(s.Name, "/"), time.Now())
}

func formatService(w io.Writer, s *structs.Service, url string, now time.Time) error {
	access := "callers need reader rights on its group"
	if s.Public {
		access = "public"
	}
	fmt.Fprintf(w, "Service:  %s (job %s, version %d), owned by %s", s.Name, s.JobID, s.Version, s.User)
	if s.Group != "" {
		fmt.Fprintf(w, " in group %s", s.Group)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Model:    %s\n", jobtext.OrDash(s.Model))
	fmt.Fprintf(w, "Status:   %s; %s\n", s.Status, healthSummary(s))
	if s.Reason != "" {
		fmt.Fprintf(w, "Reason:   %s\n", jobtext.Printable(s.Reason)) // a rollback's reason can be the user's
	}
	fmt.Fprintf(w, "Calls:    %s (%s)\n", url, access)
	if r := s.Rollout; r != nil {
		fmt.Fprintf(w, "Rollout:  version %d (%s) -> %d (%s): %s", r.FromVersion, jobtext.OrDash(r.FromModel), r.ToVersion, jobtext.OrDash(r.ToModel), r.Status)
		if r.Status == structs.RolloutRunning && !r.Deadline.IsZero() {
			fmt.Fprintf(w, ", rolled back if not healthy by %s", stamp(r.Deadline, now))
		}
		if r.Reason != "" {
			fmt.Fprintf(w, "; %s", jobtext.Printable(rolloutReason(r.Reason)))
		}
		fmt.Fprintln(w)
	}
	if len(s.Replicas) == 0 {
		_, err := fmt.Fprintln(w, "\nNo replica is placed yet.")
		return err
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REPLICA\tALLOC\tNODE\tADDRESS\tHEALTHY\tRESTARTS\tVERSION\tNOTE")
	for _, r := range s.Replicas {
		healthy := "no"
		if r.Healthy {
			healthy = "yes"
		}
		note := replicaNote(r)
		if r.Healthy && r.LastExit != "" {
			note = "last exit: " + r.LastExit
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", r.Replica, r.AllocID, r.Node, jobtext.OrDash(r.Address), healthy, r.Restarts, r.Version, jobtext.OrDash(jobtext.Printable(note))) // health errors quote the replica
	}
	return tw.Flush()
}

// oneReplicas is the count older servers wrote into a completed rollout's
// reason ("1 replicas of version 2 healthy; ...").
var oneReplicas = regexp.MustCompile(`\b1 replicas\b`)

// rolloutReason is a rollout's reason as printed. The servers write a
// completed rollout's reason while applying it through raft
// (fsm/state/services.go); servers before the singular was written there
// always wrote "replicas", and that text stays in the replicated state,
// so it is still put in the singular here, where it is shown.
func rolloutReason(reason string) string {
	return oneReplicas.ReplaceAllString(reason, "1 replica")
}

func serviceLogs(c *cli.Context) error {
	if err := needArgs(1, c.Args().Slice(), "service name", usageLine(c)); err != nil {
		return err
	}
	name := c.Args().First()
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	s, _, err := cl.Service(c.Context, name)
	if api.IsNotFound(err) {
		return fmt.Errorf("%w (a stopped service's logs stay with its job: find it with nai queue -all -name %s, then nai job logs ID)", err, name)
	}
	if err != nil {
		return err
	}
	want := c.Int("replica")
	var alloc string
	for _, r := range s.Replicas { // the current version's first
		if r.Replica == want && !r.Stopping {
			alloc = r.AllocID
			break
		}
	}
	if alloc == "" {
		var have []string
		for _, r := range s.Replicas {
			have = append(have, strconv.Itoa(r.Replica))
		}
		return fmt.Errorf("service %s has no replica %d (it has %s)", name, want, jobtext.OrDash(strings.Join(have, ", ")))
	}
	rc, err := cl.Logs(c.Context, s.JobID, api.LogOptions{Stderr: c.Bool("stderr"), Follow: c.Bool("f"), Alloc: alloc})
	if err != nil {
		return err
	}
	defer rc.Close()
	n, err := io.Copy(c.App.Writer, rc)
	if err != nil {
		return fmt.Errorf("read logs of replica %d of service %s: %w", want, name, err)
	}
	if n == 0 && !c.Bool("stderr") {
		// Many servers (Python's http.server among them) log to stderr.
		fmt.Fprintf(c.App.ErrWriter, "replica %d of service %s wrote nothing on stdout; its stderr: nai service logs -stderr %s\n", want, name, name)
	}
	return nil
}

func serviceScale(c *cli.Context) error {
	if err := needArgs(2, c.Args().Slice(), "service name and replica count", usageLine(c)); err != nil {
		return err
	}
	name := c.Args().Get(0)
	n, err := strconv.Atoi(c.Args().Get(1))
	if err != nil || n < 1 || n > structs.MaxReplicas {
		return &usageError{msg: fmt.Sprintf("replicas %q is out of range: expected 1 to %d (stop a service with `nai service stop %s`)", c.Args().Get(1), structs.MaxReplicas, name), usage: usageLine(c)}
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	resp, err := cl.ScaleService(c.Context, name, n)
	if err != nil {
		return fmt.Errorf("scale service %s: %w", name, err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, resp)
	}
	_, err = fmt.Fprintln(c.App.Writer, scaledLine(name, n))
	return err
}

// earlierServing counts the healthy replicas of earlier versions that
// are not stopping -- the gateway sends them calls -- and names those
// versions.
func earlierServing(s *structs.Service) (n int, versions []int) {
	for _, r := range s.Replicas {
		if r.Healthy && !r.Stopping && r.Version != s.Version {
			n++
			if !slices.Contains(versions, r.Version) {
				versions = append(versions, r.Version)
			}
		}
	}
	return n, versions
}

// scaledLine is what `nai service scale` says: "Service echo scaled to 1
// replica."
func scaledLine(name string, n int) string {
	return fmt.Sprintf("Service %s scaled to %s.", name, plural(n, "replica"))
}

func serviceRollout(c *cli.Context) error {
	pos, command := splitCommand(c.Args().Slice())
	if err := needArgs(1, pos, "service name", usageLine(c)); err != nil {
		return err
	}
	name, model := pos[0], c.String("model")
	if model == "" {
		return &usageError{msg: "missing -model NAME:VERSION", usage: usageLine(c)}
	}
	if _, _, err := structs.ParseArtifactRef(model); err != nil {
		return &usageError{msg: fmt.Sprintf("-model %q: %v", model, err), usage: usageLine(c)}
	}
	if t := c.Duration("timeout"); t <= 0 || t > structs.MaxRolloutTimeout {
		return &usageError{msg: fmt.Sprintf("-timeout %s is out of range: expected more than 0 and at most %s", t, structs.MaxRolloutTimeout), usage: usageLine(c)}
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	resp, err := cl.UpdateService(c.Context, name, &structs.ServiceUpdateRequest{Model: model, Command: command, Timeout: structs.Duration(c.Duration("timeout"))})
	if err != nil {
		return fmt.Errorf("roll out service %s: %w", name, err)
	}
	if c.Bool("wait") {
		if err := waitRollout(c, cl, name, resp.Version); err != nil {
			return err
		}
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, resp)
	}
	if c.Bool("wait") {
		_, err = fmt.Fprintf(c.App.Writer, "Service %s serves %s at version %d.\n", name, model, resp.Version)
		return err
	}
	_, err = fmt.Fprintf(c.App.Writer, "Service %s rolls out %s as version %d (nai service status %s).\n", name, model, resp.Version, name)
	return err
}

// errRolledBack is a rollout that ended without its new version.
var errRolledBack = errors.New("rolled back")

// waitRollout waits until the rollout to version ends.
func waitRollout(c *cli.Context, cl *api.Client, name string, version int) error {
	var idx uint64
	for {
		s, i, err := cl.WaitService(c.Context, name, idx, 30*time.Second)
		if err != nil {
			return fmt.Errorf("wait for the rollout of %s: %w", name, err)
		}
		idx = i
		r := s.Rollout
		if r == nil || r.ToVersion != version {
			continue
		}
		switch r.Status {
		case structs.RolloutComplete:
			return nil
		case structs.RolloutRolledBack:
			return fmt.Errorf("rollout of service %s to version %d %w: %s", name, version, errRolledBack, r.Reason)
		}
	}
}

func serviceStop(c *cli.Context) error {
	if err := needArgs(1, c.Args().Slice(), "service name", usageLine(c)); err != nil {
		return err
	}
	name := c.Args().First()
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	resp, err := cl.StopService(c.Context, name)
	if err != nil {
		return fmt.Errorf("stop service %s: %w", name, err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, resp)
	}
	_, err = fmt.Fprintf(c.App.Writer, "Service %s (job %s) is stopping.\n", name, resp.JobID)
	return err
}

// printServiceSubmitted is what `nai job run` says of a service job.
func printServiceSubmitted(c *cli.Context, cl *api.Client, id, name string) error {
	_, err := fmt.Fprintf(c.App.Writer, "Service %s is job %s: calls go to %s (nai service status %s)\n", name, id, cl.ServiceURL(name, "/"), name)
	return err
}

// modelServeCommand is the serve command a model folder carries: a
// serve.py at its top, run with python3.
func modelServeCommand(dir string) []string {
	if fi, err := os.Stat(filepath.Join(dir, "serve.py")); err == nil && fi.Mode().IsRegular() {
		return []string{"python3", "serve.py"}
	}
	return nil
}
