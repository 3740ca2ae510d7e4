package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// Every command's help names its placeholders (-o DIR, never "value"),
// spells flags with one dash, and leaves no backquote or library filler.
func TestHelpHasNoBrokenPlaceholders(t *testing.T) {
	bad := []*regexp.Regexp{
		regexp.MustCompile(`-[a-z-]+ value\b`),
		regexp.MustCompile(`\[command options\]`),
		regexp.MustCompile("`"),
		regexp.MustCompile(`(?m)^\s+--[a-z]`),
		regexp.MustCompile(`\(default: (false|0)\)`),
	}
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden {
				continue
			}
			p := append(append([]string{}, path...), c.Name)
			if len(c.Subcommands) > 0 {
				walk(p, c.Subcommands)
			}
			t.Run(strings.Join(p, " "), func(t *testing.T) {
				code, out, errOut := runCLI(t, append(p, "-h")...)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, errOut)
				}
				// The options part: descriptions may quote shell syntax.
				opts := out[strings.Index(out, "USAGE:"):]
				if i := strings.Index(opts, "DESCRIPTION:"); i >= 0 {
					if j := strings.Index(opts, "OPTIONS:"); j > i {
						opts = opts[:i] + opts[j:]
					}
				}
				for _, re := range bad {
					if loc := re.FindStringIndex(opts); loc != nil {
						line := opts[strings.LastIndex(opts[:loc[0]], "\n")+1:]
						line, _, _ = strings.Cut(line, "\n")
						t.Errorf("help has %q in: %s", re.String(), line)
					}
				}
			})
		}
	}
	walk(nil, newApp(nil, nil).Commands)
}

// The library takes a flag usage's backquoted words as the flag's
// placeholder: they must be one upper-case word ("-tls-cert-file FILE"),
// never a command quoted in the text ("-tls-cert-file nai tls cert create").
func TestFlagPlaceholdersAreOneWord(t *testing.T) {
	quoted := regexp.MustCompile("`([^`]*)`")
	placeholder := regexp.MustCompile(`^[A-Z][A-Z0-9_=:|\[\].-]*$`)
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := append(append([]string{}, path...), c.Name)
			walk(p, c.Subcommands)
			for _, f := range c.Flags {
				df, ok := f.(cli.DocGenerationFlag)
				if !ok {
					continue
				}
				for _, m := range quoted.FindAllStringSubmatch(df.GetUsage(), -1) {
					if !placeholder.MatchString(m[1]) {
						t.Errorf("%s -%s: placeholder %q is not one upper-case word (usage %q)", strings.Join(p, " "), f.Names()[0], m[1], df.GetUsage())
					}
				}
			}
		}
	}
	walk(nil, newApp(nil, nil).Commands)
}
