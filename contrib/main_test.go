package contrib

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if naiErr == nil && naiPath != "" {
		os.RemoveAll(filepath.Dir(naiPath))
	}
	os.Exit(code)
}
