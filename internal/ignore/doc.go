// Package ignore says which paths of a folder an upload leaves out.
//
// A job's code folder (LoadCode) honours, lowest priority first: a few
// built-in defaults (.git, .hg, .svn, __pycache__, .venv, and the
// job-*-outputs folders `nai job outputs` writes; the CLI adds the log
// files a job's logs block or #SBATCH --output/--error write), every
// .gitignore in the folder, each for the paths below its own folder as git
// reads them, and the .naiignore at the top, which has the last word ("!"
// lines in it bring back what a .gitignore or a default left out). A
// dataset or model folder (Load) honours only its .naiignore.
//
// Matching is this package's own, following git (gitignore(5), and git's
// dir.c and wildmatch.c, which wildmatch.go ports): blank lines and "#"
// comments, "\#" and "\!" for a leading "#" or "!", trailing spaces
// dropped unless escaped with "\", "!" to negate (the last matching line
// wins), a trailing "/" for directories only, a "/" at the start or in
// the middle anchoring the pattern to its file's folder (without one it
// matches a name at any depth), "*" and "?" (never a "/"), bracket
// expressions with ranges, "!" or "^" negation and [:classes:], and "**"
// as a whole path element ("**/x", "x/**", "a/**/b"). Like git it matches
// bytes, case-sensitively. On top of that it reads the files, adds the
// defaults, reports patterns that can never match as errors (git ignores
// them silently), and applies git's rule that nothing inside an ignored
// directory can be re-included.
//
// It once used github.com/go-git/go-git's matcher, which pulled
// encoding/gob and more into the CLI binary and differs from git in a few
// corners (listed in gogit_test.go); the tests compare the two where
// go-git follows git, and compare with git itself where git is installed.
package ignore
