package server

import "testing"

func TestIsNodeAllocPoll(t *testing.T) {
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"/v1/client/nodes/n1/allocations", true},
		{"/v1/client/nodes/00000000-0000-4000-8000-000000000001/allocations", true},
		{"/v1/client/nodes//allocations", false},
		{"/v1/client/nodes/n1/x/allocations", false},
		{"/v1/client/nodes/n1", false},
		{"/v1/client/allocations", false},
		{"/v1/jobs/1/allocations", false},
		{"/v1/client/nodes/n1/allocations/extra", false},
	} {
		if got := isNodeAllocPoll(tc.path); got != tc.want {
			t.Errorf("isNodeAllocPoll(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
}
