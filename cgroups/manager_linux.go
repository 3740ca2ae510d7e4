package cgroups

import (
	"log/slog"

	"github.com/nai-project/nai/cgroups/cgroupfs"
)

// New detects the host's cgroup mode and returns a Manager nesting every
// allocation cgroup under <parent>/nai (cgroupfs.NewTree resolves and
// checks the parent: "" is the agent's own cgroup). A parent that does not
// exist or cannot be written is an error naming it.
func New(parent string, logger *slog.Logger) (Manager, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	tree, err := cgroupfs.NewTree(parent, logger)
	if err != nil {
		return nil, err
	}
	if tree.Version() == 2 {
		return newV2Manager(tree, logger), nil
	}
	return newV1(tree, logger)
}
