// Package ignore reads .naiignore files, which use .gitignore syntax, and
// says which paths of a folder they leave out: `nai job run` does not
// upload what a job's code folder ignores (virtual environments, data,
// checkpoints).
//
// Supported: comments (#), blank lines, negation (!), a trailing "/" for
// directories only, patterns anchored by a "/" at the start or in the
// middle, unanchored names matched at any depth, the wildcards * ? [...]
// (never matching "/"), and "**" for any number of directories. As with
// git, the last matching pattern wins and nothing inside an ignored
// directory can be re-included.
//
// It imports only the standard library.
package ignore
