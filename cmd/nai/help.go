package main

import (
	"strings"
	"sync"

	"github.com/urfave/cli/v2"
)

// Help text as nai spells flags: one dash, a named placeholder (-o DIR,
// -tail N), never the library's "value" or "[command options]".

var setHelpOnce sync.Once

// setHelp installs the flag formatter (a library-wide setting, so once per
// process) and gives every command a usage line built from its path and
// ArgsUsage.
func setHelp(app *cli.App) {
	setHelpOnce.Do(func() { cli.FlagStringer = flagString })
	setUsageText(app.Name, app.Commands)
}

func setUsageText(parent string, cmds []*cli.Command) {
	for _, c := range cmds {
		path := parent + " " + c.Name
		if c.UsageText == "" {
			switch {
			case c.ArgsUsage != "":
				c.UsageText = path + " " + c.ArgsUsage
			case len(c.Subcommands) > 0:
				c.UsageText = path + " COMMAND"
			case len(c.Flags) > 0:
				c.UsageText = path + " [OPTIONS]"
			default:
				c.UsageText = path
			}
		}
		setUsageText(path, c.Subcommands)
	}
}

// flagString is one line of a command's OPTIONS: "-o DIR, -output DIR",
// a tab, the usage, and the default when it is not the zero value.
func flagString(f cli.Flag) string {
	df, ok := f.(cli.DocGenerationFlag)
	if !ok {
		return strings.Join(f.Names(), ", ")
	}
	placeholder, usage := unquote(df.GetUsage())
	if df.TakesValue() && placeholder == "" {
		placeholder = defaultPlaceholder(f)
	}
	names := make([]string, 0, len(f.Names()))
	for _, n := range f.Names() {
		if df.TakesValue() {
			n += " " + placeholder
		}
		names = append(names, "-"+n)
	}
	if sf, ok := f.(cli.DocGenerationSliceFlag); ok && sf.IsSliceFlag() && !strings.Contains(usage, "repeatable") {
		usage += " (repeatable)"
	}
	if d := df.GetDefaultText(); df.TakesValue() && d != "" && d != "0" && d != `""` && d != "[]" && !strings.Contains(usage, "default") {
		usage += " (default " + strings.Trim(d, `"`) + ")"
	}
	return strings.Join(names, ", ") + "\t" + usage
}

// unquote takes the placeholder out of a usage: "new `DIR` to unpack into"
// is DIR and "new DIR to unpack into".
func unquote(usage string) (string, string) {
	i := strings.IndexByte(usage, '`')
	if i < 0 {
		return "", usage
	}
	j := strings.IndexByte(usage[i+1:], '`')
	if j < 0 {
		return "", usage
	}
	name := usage[i+1 : i+1+j]
	return name, usage[:i] + name + usage[i+1+j+1:]
}

func defaultPlaceholder(f cli.Flag) string {
	switch f.(type) {
	case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag, *cli.Float64Flag, *cli.IntSliceFlag:
		return "N"
	case *cli.DurationFlag:
		return "DURATION"
	}
	return strings.ToUpper(strings.ReplaceAll(f.Names()[0], "-", "_"))
}
