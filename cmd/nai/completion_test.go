package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nai-project/nai/internal/testtool"
)

const completionDir = "../../contrib/completion"

func completionScript(t *testing.T, shell string) string {
	t.Helper()
	var b strings.Builder
	if err := writeCompletion(&b, newApp(io.Discard, io.Discard), shell); err != nil {
		t.Fatalf("generate %s completion: %v", shell, err)
	}
	return b.String()
}

// TestCompletionFilesCurrent fails when a command or flag changed and
// contrib/completion/ was not regenerated.
func TestCompletionFilesCurrent(t *testing.T) {
	for _, sh := range completionShells {
		t.Run(sh.shell, func(t *testing.T) {
			want := completionScript(t, sh.shell)
			path := filepath.Join(completionDir, sh.file)
			if *update {
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read %s (regenerate with `make completion`): %v", path, err)
			}
			if string(got) != want {
				t.Errorf("%s is stale: regenerate it with `make completion` (or go test ./cmd/nai -run Completion -update)\n(-file +generated):\n%s",
					path, cmp.Diff(string(got), want))
			}
		})
	}
}

func TestCompletionUnknownShell(t *testing.T) {
	code, stdout, stderr := runCLI(t, "completion", "tcsh")
	if code != 1 || stdout != "" || !strings.Contains(stderr, `unknown shell "tcsh": expected bash, zsh or fish`) {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and the shells expected", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, "completion")
	if code != 1 || !strings.Contains(stderr, "missing shell") {
		t.Errorf("no shell: exit %d, stderr %q", code, stderr)
	}
}

// writeScript writes the generated script for shell to a temporary file.
func writeScript(t *testing.T, shell string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "nai."+shell)
	if err := os.WriteFile(p, []byte(completionScript(t, shell)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// completionCases are command lines (the last word is being completed)
// and the words every shell should offer, in order.
var completionCases = []struct {
	name string
	line []string
	want []string
}{
	{"top-level command", []string{"nai", "jo"}, []string{"job"}},
	{"subcommand", []string{"nai", "job", "st"}, []string{"status"}},
	{"nested subcommand", []string{"nai", "operator", "raft", "l"}, []string{"list-peers"}},
	// "-de" is -detach and -dependency, which bash lists in the flags'
	// order and fish sorted: each shell's order is its own.
	{"flags of a subcommand", []string{"nai", "job", "run", "-det"}, []string{"-detach"}},
	{"a one-liner flag of a subcommand", []string{"nai", "job", "run", "-dep"}, []string{"-dependency"}},
	{"alias leads to the same command", []string{"nai", "job", "logs", "-fol"}, []string{"-follow"}},
	{"flag value is skipped", []string{"nai", "-address", "http://x:4646", "no"}, []string{"node"}},
	{"flags after an argument", []string{"nai", "job", "logs", "12", "-std"}, []string{"-stderr"}},
	{"no command after an argument", []string{"nai", "job", "bogus", "r"}, nil},
	{"completion shells are arguments", []string{"nai", "version", "-j"}, []string{"-json"}},
	{"top-level version flag", []string{"nai", "-vers"}, []string{"-version"}},
	{"hidden commands stay hidden", []string{"nai", "exec"}, nil},
}

func TestBashCompletion(t *testing.T) {
	bash := testtool.Need(t, "bash", "bash")
	script := writeScript(t, "bash")
	for _, tc := range completionCases {
		t.Run(tc.name, func(t *testing.T) {
			// COMP_WORDS as bash splits the line; complete the last word.
			words := make([]string, len(tc.line))
			for i, w := range tc.line {
				words[i] = shQuote(w)
			}
			prog := `source "$1"
COMP_WORDS=(` + strings.Join(words, " ") + `)
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_nai
printf '%s\n' "${COMPREPLY[@]}"`
			out, err := exec.Command(bash, "-c", prog, "bash", script).CombinedOutput()
			if err != nil {
				t.Fatalf("bash: %v\n%s", err, out)
			}
			if diff := cmp.Diff(tc.want, fields(string(out))); diff != "" {
				t.Errorf("completing %q (-want +got):\n%s", tc.line, diff)
			}
		})
	}
}

func TestFishCompletion(t *testing.T) {
	fish := testtool.Need(t, "fish", "fish")
	script := writeScript(t, "fish")
	for _, tc := range completionCases {
		t.Run(tc.name, func(t *testing.T) {
			line := strings.Join(tc.line, " ")
			out, err := exec.Command(fish, "--no-config", "-c", `source $argv[1]; complete --do-complete=$argv[2]`, script, line).CombinedOutput()
			if err != nil {
				t.Fatalf("fish: %v\n%s", err, out)
			}
			// Each line is "word<TAB>description"; files may follow when
			// nothing else applies, so keep only what nai offers.
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				w, _, _ := strings.Cut(l, "\t")
				if w != "" && !fileExists(w) {
					got = append(got, w)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("completing %q (-want +got):\n%s", line, diff)
			}
		})
	}
}

// TestZshCompletion checks that the script parses and loads into zsh's
// completion system; zsh offers no way to ask for completions without a
// terminal.
func TestZshCompletion(t *testing.T) {
	zsh := testtool.Need(t, "zsh", "zsh")
	script := writeScript(t, "zsh")
	if out, err := exec.Command(zsh, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	prog := `autoload -U compinit && compinit -u -D && source $1 && (( $+functions[_nai] )) && [[ $_comps[nai] == _nai ]] && echo loaded`
	out, err := exec.Command(zsh, "-f", "-c", prog, "zsh", script).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "loaded" {
		t.Fatalf("zsh did not load the completion (%v):\n%s", err, out)
	}
}

func fields(s string) []string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return nil
	}
	return f
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
