// Package version says which build of nai is running: the release version
// and commit stamped at link time by the Makefile (-ldflags -X from
// `git describe`), else what the Go toolchain recorded in the binary
// (module version, VCS revision), and the Go version that built it.
//
// The CLI prints it (`nai version`, `nai -version`); agents log it at
// start and may report it to each other. It imports nothing of the project.
package version
