package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

// Refusals of callers the door cannot identify are recorded one by one up
// to a budget a window; the rest are counted by source address and
// summed up in one event per address when the window ends, so a flood
// of bogus requests cannot fill raft or push the history out of the log.
func TestAuditRefusalBudget(t *testing.T) {
	l := newAuditLog(nil, AuditConfig{})
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	refuse := func(at time.Time, remote string) {
		l.refused(&structs.AuditEvent{Time: at, Method: "PUT", Path: "/v1/jobs", Status: http.StatusUnauthorized,
			Caller: "unauthenticated", Remote: remote, Error: "unknown token"})
	}
	for i := range 500 {
		refuse(t0.Add(time.Duration(i)*time.Millisecond), fmt.Sprintf("10.0.0.%d:%d", i%2+1, 40000+i))
	}
	if len(l.pending) != refusalBudget {
		t.Fatalf("%d events for 500 refusals in a window, want the budget %d", len(l.pending), refusalBudget)
	}
	// Sources beyond refusalSources are summed together.
	for i := range refusalSources + 10 {
		refuse(t0.Add(time.Second), fmt.Sprintf("10.1.%d.%d:1", i/250, i%250))
	}
	if len(l.pending) != refusalBudget {
		t.Fatalf("%d events, want still %d within the window", len(l.pending), refusalBudget)
	}
	// The next window: its first refusal, after the last one's sums.
	refuse(t0.Add(refusalWindow+time.Second), "10.0.0.9:1")
	sums := l.pending[refusalBudget : len(l.pending)-1]
	if len(sums) != refusalSources+1 {
		t.Fatalf("%d summaries, want one per source up to %d and one for the others", len(sums), refusalSources)
	}
	total := 0
	for _, e := range sums {
		var n int
		if _, err := fmt.Sscanf(e.Error, "%d more refused requests", &n); err != nil {
			t.Fatalf("summary %q: %v", e.Error, err)
		}
		total += n
		if !e.Time.Equal(t0.Add(refusalWindow)) || e.Path != "/v1/jobs" || e.Status != http.StatusUnauthorized {
			t.Errorf("summary %+v", e)
		}
	}
	if want := 500 - refusalBudget + refusalSources + 10; total != want {
		t.Errorf("the summaries count %d refusals, want %d", total, want)
	}
	if !strings.Contains(sums[0].Error, "from 10.0.0.1 ") || sums[0].Remote != "10.0.0.1" {
		t.Errorf("first summary: %+v", sums[0])
	}
	if last := l.pending[len(l.pending)-1]; last.Remote != "10.0.0.9:1" || strings.Contains(last.Error, "suppressed") {
		t.Errorf("the next window's first refusal is not recorded as itself: %+v", last)
	}
}

// Through the door: bogus tokens' refused writes stay within the budget;
// a known token's refused writes are all recorded, one by one.
func TestAuditRefusalsThroughDoor(t *testing.T) {
	ctx := context.Background()
	mgmtSecret, nodeSecret := strings.Repeat("m", 40), strings.Repeat("n", 40)
	_, anon := testServer(t, t.TempDir(), func(c *Config) {
		c.ACL = ACLConfig{Enabled: true, InitialManagementToken: mgmtSecret, InitialNodeToken: nodeSecret}
	})
	mgmt := anon.WithToken(mgmtSecret)
	waitUntil(t, "the initial tokens work", func() bool {
		_, err := anon.WithToken(nodeSecret).TokenSelf(ctx)
		return err == nil
	})
	put := func(secret string) {
		req, _ := http.NewRequest("PUT", anon.Address()+"/v1/jobs", strings.NewReader(`{}`))
		if secret != "" {
			req.Header.Set("Authorization", "Bearer "+secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			t.Fatalf("PUT /v1/jobs with %q: %s", secret, resp.Status)
		}
	}
	const bogus, known = 2 * refusalBudget, 70
	for i := range bogus {
		if i%2 == 0 {
			put("")
		} else {
			put(fmt.Sprintf("bogus-%d", i))
		}
	}
	for range known {
		put(nodeSecret) // a node token may not submit jobs: 403
	}
	var unidentified, byToken int
	waitUntil(t, "the node token's refusals reach the audit log", func() bool {
		events, err := mgmt.Audit(ctx, api.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		unidentified, byToken = 0, 0
		for _, e := range events {
			if e.Path != "/v1/jobs" {
				continue
			}
			switch {
			case e.Caller == "unauthenticated" || e.Caller == "anonymous":
				unidentified++
			case e.Accessor != "":
				byToken++
			}
		}
		return byToken >= known
	})
	if byToken != known {
		t.Errorf("%d events for %d refused writes of a known token, want each", byToken, known)
	}
	if unidentified != refusalBudget {
		t.Errorf("%d events for %d refused writes without a valid token in a minute, want the budget %d", unidentified, bogus, refusalBudget)
	}
}
