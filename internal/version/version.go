package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Stamped by the linker:
//
//	go build -ldflags "-X github.com/nai-project/nai/internal/version.version=1.2.0 \
//	    -X github.com/nai-project/nai/internal/version.commit=0123abcd..."
//
// Both stay empty in a plain `go build`; Get then reads the build info.
var (
	version string
	commit  string
)

// Unknown is the version of a build that was neither stamped nor built
// from a tagged module (a plain `go build` in a checkout).
const Unknown = "dev"

// Info describes one build.
type Info struct {
	Version string `json:"version"`
	// Commit is the full VCS revision, "" when unknown.
	Commit string `json:"commit,omitempty"`
	// Modified is true when the work tree had uncommitted changes.
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
	// Build is BuildFull or BuildCLI: nai ships as a CLI binary (nai)
	// and a full one (nai-agent) built from the same code.
	Build string `json:"build,omitempty"`
}

// The kinds of binary.
const (
	BuildFull = "full"
	BuildCLI  = "cli"
)

// Get returns the running binary's version.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return resolve(version, commit, bi)
}

// resolve prefers the stamped values and fills the rest from the build
// info (nil when the binary has none).
func resolve(stampedVersion, stampedCommit string, bi *debug.BuildInfo) Info {
	info := Info{
		Version:   stampedVersion,
		Commit:    stampedCommit,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
		Build:     build,
	}
	if strings.HasSuffix(info.Version, "-dirty") {
		info.Modified = true
	}
	if bi != nil {
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
		// `go install module@v1.2.0` records the module version; a build
		// in a checkout records "(devel)" or a pseudo-version.
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = strings.TrimPrefix(bi.Main.Version, "v")
		}
		var revision string
		var modified bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if info.Commit == "" {
			info.Commit = revision
		}
		// The toolchain's view of the tree wins when it saw the same
		// commit: it looked at the tree at build time.
		if revision != "" && revision == info.Commit {
			info.Modified = info.Modified || modified
		}
	}
	if info.Version == "" {
		info.Version = Unknown
	}
	return info
}

// ShortCommit is the first 12 characters of the commit, "" when unknown.
func (i Info) ShortCommit() string {
	if len(i.Commit) > 12 {
		return i.Commit[:12]
	}
	return i.Commit
}

// String is one line for logs and banners: "1.2.0 (0123abcd4567, go1.26.0)".
func (i Info) String() string {
	var b strings.Builder
	b.WriteString(i.Version)
	b.WriteString(" (")
	if c := i.ShortCommit(); c != "" {
		b.WriteString(c)
		if i.Modified && !strings.HasSuffix(i.Version, "-dirty") {
			b.WriteString("-modified")
		}
		b.WriteString(", ")
	}
	fmt.Fprintf(&b, "%s)", i.GoVersion)
	return b.String()
}
