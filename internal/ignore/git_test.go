package ignore

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestAgainstGit builds random folders with random .gitignore files (at
// the top and below) and checks that LoadCode leaves out exactly the files
// git itself reports as ignored (git ls-files --others --ignored
// --exclude-standard), git being the reference where go-git is not. It
// needs git on the PATH.
func TestAgainstGit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs git")
	}
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git on the PATH")
	}
	repo := t.TempDir()
	git := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(gitBin, append([]string{"-c", "core.excludesFile=/dev/null", "-c", "core.ignoreCase=false"}, args...)...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+repo, "XDG_CONFIG_HOME="+repo)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	git("init", "-q")
	r := rand.New(rand.NewPCG(5, 6))
	for trial := range 150 {
		clearTree(t, repo)
		files := genTree(t, r, repo)
		var ignoreFiles []string
		write(t, repo, ".gitignore", genIgnoreFile(r))
		ignoreFiles = append(ignoreFiles, ".gitignore")
		for _, d := range dirsOf(files) {
			if r.IntN(3) == 0 {
				name := d + "/.gitignore"
				write(t, repo, name, genIgnoreFile(r))
				ignoreFiles = append(ignoreFiles, name)
				files = append(files, name)
			}
		}
		files = append(files, ".gitignore")

		var want []string
		for _, f := range bytes.Split(git("ls-files", "-z", "--others", "--ignored", "--exclude-standard"), []byte{0}) {
			if len(f) > 0 {
				want = append(want, string(f))
			}
		}
		m, err := LoadCode(repo)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		var got []string
		for _, f := range files {
			if m.Match(f, false) {
				got = append(got, f)
			}
		}
		slices.Sort(want)
		slices.Sort(got)
		got = slices.Compact(got)
		if !slices.Equal(got, want) {
			var desc strings.Builder
			for _, name := range ignoreFiles {
				b, _ := os.ReadFile(filepath.Join(repo, name))
				desc.WriteString(name + ":\n" + string(b))
			}
			t.Fatalf("trial %d: files %q\n%s\nignored: %q\ngit ignores: %q", trial, files, desc.String(), got, want)
		}
	}
}

// clearTree removes everything in repo but .git.
func clearTree(t *testing.T, repo string) {
	t.Helper()
	ents, err := os.ReadDir(repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != ".git" {
			if err := os.RemoveAll(filepath.Join(repo, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
}

var treeNames = []string{"a", "b", "ab", "ba", "x.txt", "a.b", "-", "]x", "!x", "#x", "a b", "A", "1", "é", "aab"}

// genTree writes a few random files, up to three folders deep, and returns
// their paths.
func genTree(t *testing.T, r *rand.Rand, repo string) []string {
	var files []string
	for range 3 + r.IntN(12) {
		parts := make([]string, 1+r.IntN(3))
		for i := range parts {
			parts[i] = treeNames[r.IntN(len(treeNames))]
		}
		name := strings.Join(parts, "/")
		// A path whose folder is already a file, or the reverse, is
		// skipped.
		if _, err := os.Stat(filepath.Join(repo, name)); err == nil {
			continue
		}
		clash := false
		for i := 1; i < len(parts); i++ {
			if st, err := os.Stat(filepath.Join(repo, filepath.Join(parts[:i]...))); err == nil && !st.IsDir() {
				clash = true
			}
		}
		if clash {
			continue
		}
		write(t, repo, name, "x")
		files = append(files, name)
	}
	return files
}

// dirsOf lists the folders that hold files.
func dirsOf(files []string) []string {
	seen := map[string]bool{}
	var dirs []string
	for _, f := range files {
		for d := filepath.Dir(f); d != "."; d = filepath.Dir(d) {
			if !seen[d] {
				seen[d] = true
				dirs = append(dirs, d)
			}
		}
	}
	slices.Sort(dirs)
	return dirs
}

// genIgnoreFile makes a few random lines of every kind gitignore has,
// leaving out those this package rejects (git ignores them).
func genIgnoreFile(r *rand.Rand) string {
	pieces := []string{"a", "b", "ab", "*", "?", "**", "[ab]", "[!a]", "[^b]", "[]a]", "[-a]", "[a-]", "[[:alpha:]]", "[[:digit:]]",
		`\!`, `\#`, "#", "!", "x.txt", ".b", "a*", "*b", "***", "é", " ", `\ `, "]", "-", "[z-a]", "A", "1"}
	var lines []string
	for range 1 + r.IntN(6) {
		for {
			var segs []string
			for range 1 + r.IntN(3) {
				var s string
				for range 1 + r.IntN(2) {
					s += pieces[r.IntN(len(pieces))]
				}
				segs = append(segs, s)
			}
			line := strings.Join(segs, "/")
			if r.IntN(4) == 0 {
				line = "/" + line
			}
			switch r.IntN(8) {
			case 0, 1:
				line += "/"
			case 2:
				line += "/**"
			case 3:
				line = "**/" + line
			}
			if r.IntN(3) == 0 {
				line = "!" + line
			}
			if r.IntN(6) == 0 {
				line += "  "
			}
			if _, err := Parse(strings.NewReader(line)); err == nil {
				lines = append(lines, line)
				break
			}
		}
	}
	return strings.Join(lines, "\n") + "\n"
}
