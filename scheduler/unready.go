package scheduler

import (
	"fmt"
	"strings"

	"github.com/nai-project/nai/structs"
)

// unreadyNote says why nodes that would otherwise count take no work, as
// " (1 draining, 2 down)", so a job waiting on an empty cluster tells the
// user that an operator drained it rather than that it has no nodes. Only
// nodes that keep tells for it count; "" when none.
func unreadyNote(nodes []*structs.Node, keep func(*structs.Node) bool) string {
	var draining, ineligible, down int
	for _, n := range nodes {
		if n.Schedulable() || (keep != nil && !keep(n)) {
			continue
		}
		switch {
		case n.Status != structs.NodeReady:
			down++
		case n.Drain:
			draining++
		default:
			ineligible++
		}
	}
	var parts []string
	for _, p := range []struct {
		n    int
		what string
	}{{draining, "draining"}, {ineligible, "ineligible"}, {down, "down"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
