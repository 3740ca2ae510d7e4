package client

import (
	"fmt"
	"os"
	"time"

	"github.com/nai-project/nai/structs"
)

const (
	// DefaultCacheMaxBytes caps the blob cache when Config.CacheMaxBytes is 0.
	DefaultCacheMaxBytes int64 = 10 << 30
	// DefaultAllocGCAge is how long reported allocation dirs are kept when
	// Config.AllocGCAge is 0.
	DefaultAllocGCAge = 24 * time.Hour
)

// checkOptions fills the defaults of the optional Config fields and
// refuses values that make no sense.
func (c *Client) checkOptions() error {
	cfg := &c.cfg
	if cfg.CacheMaxBytes < 0 {
		return fmt.Errorf("client: cache size cap %d is negative: expected bytes > 0 (0: the default, %d)", cfg.CacheMaxBytes, DefaultCacheMaxBytes)
	}
	if cfg.CacheMaxBytes == 0 {
		cfg.CacheMaxBytes = DefaultCacheMaxBytes
	}
	if cfg.AllocGCAge == 0 {
		cfg.AllocGCAge = DefaultAllocGCAge
	}
	if cfg.LogMaxBytes == 0 {
		cfg.LogMaxBytes = DefaultLogMaxBytes // logcap.go
	}
	if cfg.GPUSampleInterval < 0 {
		return fmt.Errorf("client: gpu sample interval %s is negative", cfg.GPUSampleInterval)
	}
	if cfg.ServicePorts == (structs.PortRange{}) {
		cfg.ServicePorts, _ = structs.ParsePortRange(structs.DefaultServicePorts)
	} else if cfg.ServicePorts.Count() == 0 {
		return fmt.Errorf("client: service ports %d-%d are not a range: expected FIRST-LAST with 1 <= FIRST <= LAST <= 65535", cfg.ServicePorts.First, cfg.ServicePorts.Last)
	}
	if cfg.ExecutorBinary == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("client: no executor binary given and this process's own is unknown: %w", err)
		}
		cfg.ExecutorBinary = exe
	}
	switch cfg.RootTasks {
	case "", RootTasksAllow, RootTasksRefuse:
	default:
		return fmt.Errorf("client: root tasks %q is unknown: expected %q or %q", cfg.RootTasks, RootTasksAllow, RootTasksRefuse)
	}
	return nil
}
