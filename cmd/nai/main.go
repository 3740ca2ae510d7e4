package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/nai-project/nai/client/executor"
	"github.com/urfave/cli/v2"
)

func main() {
	// The executor and the exec shim run once per job: they skip building
	// the command tree, which is start-up time on the path to the task's
	// first instruction.
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "executor":
			os.Exit(executor.Main(os.Args[2:]))
		case "exec-shim":
			os.Exit(executor.ShimMain(os.Args[2:]))
		}
	}
	deferGC(os.Args) // gc.go
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first Ctrl-C, a second one kills at once.
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args, os.Stdout, os.Stderr))
}

// run is the whole CLI with its streams passed in, so tests can drive it.
// It returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runIO(ctx, args, os.Stdin, stdout, stderr)
}

// runIO is run with standard input too (the answer to a confirmation).
func runIO(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	app.Reader = stdin
	if path, rest, addr, ok := cliPluginCall(app, args); ok { // plugin_exec.go
		return runCLIPlugin(path, rest, addr, stdin, stdout, stderr)
	}
	if err := slurmCommandError(firstCommandArg(app, args)); err != nil {
		// `nai squeue -u me`: say what to use instead, before the flag
		// parser sees squeue's flags.
		return report(ctx, stderr, err)
	}
	args = permuteArgs(app, args)
	if i := slices.Index(args, "--"); i >= 0 {
		app.Metadata = map[string]any{afterDashKey: args[i+1:]}
	}
	err := app.RunContext(ctx, args)
	return report(ctx, stderr, err)
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:                      "nai",
		Usage:                     "a batch system for deep-learning training on shared GPU servers",
		Writer:                    stdout,
		ErrWriter:                 stderr,
		HideVersion:               true,
		DisableSliceFlagSeparator: true, // -var lr=0.1,0.2 is one value
		Suggest:                   true,
		Flags:                     []cli.Flag{addressFlag(), versionFlag()},
		// Errors are reported by run; never let the library call os.Exit.
		ExitErrHandler: func(*cli.Context, error) {},
		Action:         rootAction,
	}
	app.Commands = append(ownCommands(), extraCommands()...)
	app.OnUsageError = onUsageError
	setUsageErrors(app.Commands)
	setHelp(app)
	return app
}

// ownCommands are the client commands defined in this package; extra.go
// adds the agent and tooling commands.
func ownCommands() []*cli.Command {
	cmds := append([]*cli.Command{jobCommand(), queueCommand(), nodeCommand(), topCommand(), shareCommand(), operatorCommand()}, artifactCommands()...)
	cmds = append(cmds, tlsCommand(), usageCommand(), serveCommand(), serviceCommand(), pluginCommand())
	return append(cmds, aclCommands()...)
}

func setUsageErrors(cmds []*cli.Command) {
	for _, c := range cmds {
		if c.OnUsageError == nil {
			c.OnUsageError = onUsageError
		}
		setUsageErrors(c.Subcommands)
	}
}

// onUsageError turns a flag parse error into one line with a usage hint
// instead of the library's full help page.
func onUsageError(c *cli.Context, err error, _ bool) error {
	return &usageError{msg: err.Error() + suggestFlag(c, err), usage: usageLine(c)}
}

// parentAction runs for a command group ("nai job") given no known
// subcommand: help when there are no arguments, a usage error otherwise.
func parentAction(c *cli.Context) error {
	if c.Args().Len() == 0 {
		return cli.ShowSubcommandHelp(c)
	}
	given := c.Args().First()
	return &usageError{msg: "unknown command " + quote(given) + suggestCommand(c, given), usage: usageLine(c)}
}

func quote(s string) string { return "\"" + s + "\"" }

// usageLine is "nai job status [-json] ID" for the command in c.
func usageLine(c *cli.Context) string {
	if c.Command == nil || c.Command.Name == "" {
		return c.App.Name + " COMMAND [ARGS]"
	}
	name := c.Command.HelpName
	if name == "" {
		name = c.App.Name + " " + c.Command.Name
	}
	switch {
	case strings.TrimSpace(c.Command.ArgsUsage) != "":
		return name + " " + strings.TrimSpace(c.Command.ArgsUsage)
	case hasSubcommands(c.Command):
		return name + " COMMAND"
	}
	return name
}

// hasSubcommands reports whether cmd is a group: the library gives every
// command a "help" subcommand, which does not make it one.
func hasSubcommands(cmd *cli.Command) bool {
	for _, sub := range cmd.Subcommands {
		if sub.Name != "help" {
			return true
		}
	}
	return false
}

// permuteArgs moves the flags of the command being run in front of its
// positional arguments, so "nai job outputs 12 -o out" works as well as
// "nai job outputs -o out 12" (the flag package stops at the first
// argument). Anything after "--" stays where it is.
func permuteArgs(app *cli.App, args []string) []string {
	if len(args) == 0 {
		return args
	}
	out := []string{args[0]}
	rest := args[1:]
	flags, cmds := app.Flags, app.Commands
	var path []string // the names of the commands, "job", "run"
	for {
		i := 0
		for i < len(rest) && isFlagArg(rest[i]) {
			if takesValue(flags, rest[i]) && i+1 < len(rest) {
				i++
			}
			i++
		}
		out, rest = append(out, rest[:i]...), rest[i:]
		if len(rest) == 0 {
			return out
		}
		cmd := findCommand(cmds, rest[0])
		if cmd == nil {
			break
		}
		out, rest = append(out, rest[0]), rest[1:]
		path = append(path, cmd.Name)
		if cmd.SkipFlagParsing {
			// It parses its own arguments (exec-shim): leave them as given.
			return append(out, rest...)
		}
		flags, cmds = cmd.Flags, cmd.Subcommands
	}
	var fl, pos []string
	file := false // the job file of a command with script arguments is in pos
	// After "-" (the script on standard input, as the sbatch wrapper
	// sends it) every argument is the script's, as sbatch has it: a
	// script's -json is not nai's.
	strict := false
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			pos = append(pos, rest[i:]...)
			break
		}
		if file && (strict || !(isFlagArg(a) && knownFlag(flags, a))) {
			// A batch script's own arguments ($1...) start at the first
			// argument after it that is not one of nai's flags, and
			// stay as given, flags of their own included: nai job run
			// train.sh cfg.yaml --lr 0.1.
			pos = append(pos, rest[i:]...)
			break
		}
		if !isFlagArg(a) {
			pos = append(pos, a)
			file = scriptArgsFollow(path)
			strict = file && a == "-"
			continue
		}
		if !knownFlag(flags, a) {
			// Whether it takes a value is unknown: move it with
			// everything after it, in order, so that the parser reports
			// it rather than a confusing count of arguments.
			fl = append(fl, rest[i:]...)
			break
		}
		fl = append(fl, a)
		if takesValue(flags, a) && i+1 < len(rest) {
			fl = append(fl, rest[i+1])
			i++
		}
	}
	return append(append(out, fl...), pos...)
}

// scriptArgsFollow reports whether the command at path takes a job file
// or batch script followed by the script's own arguments, which are left
// as given: nai job run train.sh cfg.yaml --lr 0.1.
func scriptArgsFollow(path []string) bool {
	return len(path) == 2 && path[0] == "job" && (path[1] == "run" || path[1] == "plan")
}

func isFlagArg(a string) bool { return len(a) > 1 && a[0] == '-' && a != "--" }

func knownFlag(flags []cli.Flag, arg string) bool {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	if name == "h" || name == "help" {
		return true // added by the library to every command
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

// takesValue reports whether a flag argument ("-o", not "-o=x") consumes
// the next argument as its value.
func takesValue(flags []cli.Flag, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	if strings.Contains(name, "=") {
		return false
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				_, isBool := f.(*cli.BoolFlag)
				return !isBool
			}
		}
	}
	return false
}

// firstCommandArg is the first argument after the app's own flags: the
// command asked for, or "".
func firstCommandArg(app *cli.App, args []string) string {
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--":
			return ""
		case isFlagArg(a):
			if takesValue(app.Flags, a) {
				i++
			}
		default:
			return a
		}
	}
	return ""
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
