package testtool

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// PhillyTrace returns the path of the shared Philly month (47,192 jobs),
// which lies outside the repository: in the shared directory beside the
// checkout (/work/main next to /work/shared), or beside a worktree's parent
// (/work/wt/NAME). NAI_SIM_TRACE overrides both. Without it the test is
// skipped, saying where it looked.
func PhillyTrace(t testing.TB) string {
	t.Helper()
	var paths []string
	if p := os.Getenv("NAI_SIM_TRACE"); p != "" {
		paths = []string{p}
	} else {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Dir(filepath.Dir(filepath.Dir(file))) // internal/testtool/traces.go
		for _, up := range []string{"..", filepath.Join("..", "..")} {
			paths = append(paths, filepath.Join(root, up, "shared", "traces", "philly_oct2017.csv"))
		}
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skipf("the Philly trace is in none of %v; set NAI_SIM_TRACE", paths)
	return ""
}
