// Package ignore says which paths of a folder an upload leaves out.
//
// A job's code folder (LoadCode) honours, lowest priority first: a few
// built-in defaults (.git, .hg, .svn, __pycache__, .venv), every
// .gitignore in the folder, each for the paths below its own folder as git
// reads them, and the .naiignore at the top, which has the last word ("!"
// lines in it bring back what a .gitignore or a default left out). A
// dataset or model folder (Load) honours only its .naiignore.
//
// Matching is github.com/go-git/go-git's gitignore matcher (comments,
// negation, a trailing "/" for directories, anchoring by a "/" at the
// start or in the middle, * ? [...] and "**"); this package adds reading
// the files, the defaults, errors for patterns that can never match (git
// ignores them silently), and git's rule that nothing inside an ignored
// directory can be re-included.
package ignore
