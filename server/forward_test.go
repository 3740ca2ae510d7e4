package server

import (
	"testing"
	"time"
)

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

// A follower answers its nodes' long-polls only while it hears from the
// leader; one cut off for maxPollStaleness, or that never heard from one,
// hands them on.
func TestHeardLately(t *testing.T) {
	now := time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		last time.Time
		want bool
	}{
		{"never", time.Time{}, false},
		{"just now", now.Add(-50 * time.Millisecond), true},
		{"just inside", now.Add(-maxPollStaleness + time.Millisecond), true},
		{"at the limit", now.Add(-maxPollStaleness), false},
		{"long ago", now.Add(-time.Hour), false},
	} {
		if got := heardLately(tc.last, now); got != tc.want {
			t.Errorf("%s: heardLately = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A change after a quiet spell is planned at once; one right after a pass
// waits for the rest of the gap.
func TestPassWait(t *testing.T) {
	end := time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC)
	gap := passGap(3 * time.Millisecond) // a pass of 3 ms: 3 ms apart
	for _, tc := range []struct {
		after time.Duration // from the end of the last pass
		want  time.Duration
	}{
		{0, 3 * time.Millisecond},
		{time.Millisecond, 2 * time.Millisecond},
		{3 * time.Millisecond, 0},
		{time.Second, 0},
	} {
		if got := passWait(end, gap, end.Add(tc.after)); got != tc.want {
			t.Errorf("change %v after a pass: wait %v, want %v", tc.after, got, tc.want)
		}
	}
	if got := passGap(0); got != schedDebounce {
		t.Errorf("passGap of an instant pass = %v, want the debounce %v", got, schedDebounce)
	}
}
