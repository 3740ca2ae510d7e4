package version

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResolve(t *testing.T) {
	const rev = "0123456789abcdef0123456789abcdef01234567"
	vcs := func(modified string) *debug.BuildInfo {
		return &debug.BuildInfo{
			GoVersion: "go1.26.0",
			Main:      debug.Module{Path: "github.com/nai-project/nai", Version: "(devel)"},
			Settings:  []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}},
		}
	}
	plat := runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		name            string
		version, commit string
		bi              *debug.BuildInfo
		want            Info
		str             string
	}{
		{
			name: "stamped by make", version: "1.2.0-3-g0123456", commit: rev, bi: vcs("false"),
			want: Info{Version: "1.2.0-3-g0123456", Commit: rev, GoVersion: "go1.26.0", Platform: plat},
			str:  "1.2.0-3-g0123456 (0123456789ab, go1.26.0)",
		},
		{
			name: "stamped dirty", version: "1.2.0-dirty", commit: rev, bi: vcs("true"),
			want: Info{Version: "1.2.0-dirty", Commit: rev, Modified: true, GoVersion: "go1.26.0", Platform: plat},
			str:  "1.2.0-dirty (0123456789ab, go1.26.0)",
		},
		{
			name: "plain go build in a checkout", bi: vcs("true"),
			want: Info{Version: Unknown, Commit: rev, Modified: true, GoVersion: "go1.26.0", Platform: plat},
			str:  "dev (0123456789ab-modified, go1.26.0)",
		},
		{
			name: "go install at a tag",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.4.0"}},
			want: Info{Version: "1.4.0", GoVersion: "go1.26.0", Platform: plat},
			str:  "1.4.0 (go1.26.0)",
		},
		{
			name: "stamped commit differs from the toolchain's", version: "1.0.0", commit: "abc", bi: vcs("true"),
			want: Info{Version: "1.0.0", Commit: "abc", GoVersion: "go1.26.0", Platform: plat},
			str:  "1.0.0 (abc, go1.26.0)",
		},
		{
			name: "no build info",
			want: Info{Version: Unknown, GoVersion: runtime.Version(), Platform: plat},
			str:  "dev (" + runtime.Version() + ")",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := resolve(tc.version, tc.commit, tc.bi)
			if got.Build != build {
				t.Errorf("build %q, want %q", got.Build, build)
			}
			got.Build = ""
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("resolve (-want +got):\n%s", diff)
			}
			if s := got.String(); s != tc.str {
				t.Errorf("String() = %q, want %q", s, tc.str)
			}
		})
	}
}
