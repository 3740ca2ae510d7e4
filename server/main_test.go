package server

import (
	"os"
	"testing"

	"github.com/nai-project/nai/internal/testtool"
)

// TestMain runs the tests under a watchdog that names what hangs (raft
// clusters in tests have hung in CI with only the dump's tail printed).
func TestMain(m *testing.M) {
	stop := testtool.Watchdog()
	code := m.Run()
	stop()
	os.Exit(code)
}
