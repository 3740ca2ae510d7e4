package fingerprint

import "fmt"

// applicationXIDs are XIDs that a user's program causes (a bad memory access,
// a killed context); the GPU itself is fine, so they do not withdraw it. The
// same list as NVIDIA's Kubernetes device plugin skips by default.
var applicationXIDs = map[uint64]bool{
	13:  true, // graphics engine exception
	31:  true, // GPU memory page fault
	43:  true, // GPU stopped processing (a context was killed)
	45:  true, // preemptive cleanup after a context was killed
	68:  true, // video processor exception
	109: true, // context switch timeout
}

// xidMeanings names the XIDs an operator most often meets; others are shown
// by number only.
var xidMeanings = map[uint64]string{
	48:  "double-bit ECC error",
	61:  "internal micro-controller breakpoint",
	62:  "internal micro-controller halt",
	63:  "ECC page retirement or row remapping event",
	64:  "ECC page retirement or row remapping failure",
	74:  "NVLink error",
	79:  "GPU has fallen off the bus",
	92:  "high single-bit ECC error rate",
	94:  "contained ECC error",
	95:  "uncontained ECC error",
	119: "GSP RPC timeout",
	120: "GSP error",
}

// xidCritical reports whether an XID means the GPU itself is failing.
func xidCritical(xid uint64) bool { return !applicationXIDs[xid] }

// xidReason is the Unhealthy text for a critical XID.
func xidReason(xid uint64) string {
	if m, ok := xidMeanings[xid]; ok {
		return fmt.Sprintf("xid %d: %s", xid, m)
	}
	return fmt.Sprintf("xid %d", xid)
}
