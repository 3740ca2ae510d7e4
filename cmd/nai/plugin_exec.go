package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

// CLI plugins extend nai the way git and kubectl are extended: an
// executable nai-NAME in ~/.nai/plugins/ or on PATH runs as `nai NAME
// ARGS...`, with the cluster's address, the caller's token and the TLS
// files in its environment (NAI_ADDR, NAI_TOKEN, NAI_CACERT,
// NAI_CLIENT_CERT, NAI_CLIENT_KEY), so it can call the API or the nai CLI
// itself as the user. A built-in command always wins over a plugin of the
// same name; a word that is neither still gets the did-you-mean of an
// unknown command.

const cliPluginPrefix = "nai-"

// cliPluginDirs are searched in order: the user's own plugins first, then
// PATH.
func cliPluginDirs() []string {
	var dirs []string
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".nai", "plugins"))
	}
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if d == "" {
			d = "." // as the shell reads an empty PATH entry
		}
		dirs = append(dirs, d)
	}
	return dirs
}

// cliPlugin is one nai-NAME executable.
type cliPlugin struct {
	Name string `json:"name"`
	Path string `json:"path"`
	// Shadowed says why `nai NAME` does not run it: a built-in command of
	// that name, or an earlier plugin of the same name.
	Shadowed string `json:"shadowed,omitempty"`
}

func isExecutableFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// findCLIPlugin returns the executable that `nai name` runs, or "".
func findCLIPlugin(name string) string {
	if !structs.ValidName(name) {
		return ""
	}
	for _, d := range cliPluginDirs() {
		if p := filepath.Join(d, cliPluginPrefix+name); isExecutableFile(p) {
			return p
		}
	}
	return ""
}

// listCLIPlugins lists every nai-NAME executable, in search order, each
// with what shadows it.
func listCLIPlugins(app *cli.App) []cliPlugin {
	var out []cliPlugin
	seen := map[string]string{}
	for _, d := range cliPluginDirs() {
		ents, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			name, ok := strings.CutPrefix(e.Name(), cliPluginPrefix)
			p := filepath.Join(d, e.Name())
			if !ok || !structs.ValidName(name) || !isExecutableFile(p) {
				continue
			}
			cp := cliPlugin{Name: name, Path: p}
			switch {
			case isBuiltin(app, name):
				cp.Shadowed = "the built-in command nai " + name
			case seen[name] != "":
				cp.Shadowed = seen[name]
			default:
				seen[name] = p
			}
			out = append(out, cp)
		}
	}
	return out
}

// isBuiltin reports whether `nai name` is a command of nai itself.
func isBuiltin(app *cli.App, name string) bool {
	return name == "help" || name == "h" || findCommand(app.Commands, name) != nil
}

// cliPluginCall finds, in a command line, the CLI plugin it runs: the
// first word after nai's own flags, when it is no built-in command and a
// nai-WORD executable exists. It returns the plugin's path, its arguments
// and the -address given before it ("" when none).
func cliPluginCall(app *cli.App, args []string) (path string, rest []string, addr string, ok bool) {
	for i := 1; i < len(args); i++ {
		a := args[i]
		if !isFlagArg(a) {
			if isBuiltin(app, a) {
				return "", nil, "", false
			}
			if p := findCLIPlugin(a); p != "" {
				return p, args[i+1:], addr, true
			}
			return "", nil, "", false
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case name == "address" && hasValue:
			addr = value
		case name == "address" && i+1 < len(args):
			addr = args[i+1]
			i++
		default:
			return "", nil, "", false // -version, -help, or a mistake: nai's own
		}
	}
	return "", nil, "", false
}

// cliPluginEnv is the environment a CLI plugin runs with: the caller's,
// with the address, token and TLS files the CLI itself would use.
func cliPluginEnv(addr string) []string {
	cfg := api.DefaultConfig()
	if addr != "" {
		cfg.Address = addr
	}
	if cfg.Address == "" {
		cfg.Address = api.DefaultAddr
	}
	if cfg.Token == "" {
		// What `nai login` saved; an unreadable file is the plugin's
		// problem to report when it calls the API without a token.
		cfg.Token, _ = api.ReadTokenFile(api.TokenFile())
	}
	set := map[string]string{
		"NAI_ADDR": cfg.Address, "NAI_TOKEN": cfg.Token,
		"NAI_CACERT": cfg.CACert, "NAI_CLIENT_CERT": cfg.ClientCert, "NAI_CLIENT_KEY": cfg.ClientKey,
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		_, ours := set[k]
		return ours
	})
	for _, k := range []string{"NAI_ADDR", "NAI_TOKEN", "NAI_CACERT", "NAI_CLIENT_CERT", "NAI_CLIENT_KEY"} {
		if set[k] != "" {
			env = append(env, k+"="+set[k])
		}
	}
	return env
}

// runCLIPlugin runs a CLI plugin with nai's streams and returns its exit
// status. Ctrl-C reaches it from the terminal, as it reaches nai.
func runCLIPlugin(path string, args []string, addr string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := exec.Command(path, args...)
	cmd.Env = cliPluginEnv(addr)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if code := ee.ExitCode(); code >= 0 {
			return code
		}
		return interruptedCode // killed by a signal
	}
	fmt.Fprintf(stderr, "Error: run plugin %s: %v\n", path, err)
	return 1
}

// cliPluginNames are the names `nai NAME` would run, for did-you-mean.
func cliPluginNames(app *cli.App) []string {
	var names []string
	for _, p := range listCLIPlugins(app) {
		if p.Shadowed == "" {
			names = append(names, p.Name)
		}
	}
	return names
}
