//go:build !nai_cli

package main

import (
	"testing"

	"github.com/nai-project/nai/membership"
)

// A client agent is healthy while gossip shows a server of its datacenter
// alive; otherwise it says why, with its own name either way.
func TestClientHealth(t *testing.T) {
	srv := func(dc, status string) membership.Member {
		return membership.Member{Name: "s-" + dc, Status: status, Tags: membership.Tags{Server: true, Datacenter: dc}}
	}
	client := membership.Member{Name: "c1", Status: "alive", Tags: membership.Tags{Client: true, Datacenter: "dc1"}}
	for _, tc := range []struct {
		name    string
		members []membership.Member
		want    string
	}{
		{"a server alive", []membership.Member{client, srv("dc1", "alive")}, "ok"},
		{"servers failed or left", []membership.Member{client, srv("dc1", "failed"), srv("dc1", "left")}, "no_servers"},
		{"only another datacenter's", []membership.Member{client, srv("dc2", "alive")}, "no_servers"},
		{"alone", []membership.Member{client}, "no_servers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := clientHealth("c1", tc.members, "dc1")
			if h.Status != tc.want || h.Name != "c1" || (tc.want != "ok") != (h.Message != "") {
				t.Errorf("health = %+v, want status %s for c1", h, tc.want)
			}
		})
	}
}
