//go:build !nai_cli

package version

// build is the kind of binary: the whole of nai, agent included.
const build = BuildFull
