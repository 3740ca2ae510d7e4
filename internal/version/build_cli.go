//go:build nai_cli

package version

// build is the kind of binary: the CLI (see cmd/nai/agent_bin.go).
const build = BuildCLI
