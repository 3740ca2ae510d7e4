package membership

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTagsRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		tags Tags
	}{
		{"server", Tags{Server: true, Version: TagsVersion, Datacenter: "dc1", HTTPAddr: "127.0.0.1:4646", RaftAddr: "127.0.0.1:4647", BootstrapExpect: 3, ClusterID: "abc", LogFormat: 2}},
		{"client", Tags{Client: true, Version: TagsVersion, Datacenter: "dc2", HTTPAddr: "10.0.0.7:4646", NodeID: "0b6d"}},
		{"both", Tags{Server: true, Client: true, Version: TagsVersion, Datacenter: "dc1", HTTPAddr: "h:1", RaftAddr: "h:2", NodeID: "x"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTags(tc.tags.Map())
			if err != nil {
				t.Fatalf("ParseTags: %v", err)
			}
			if diff := cmp.Diff(tc.tags, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseTagsErrors(t *testing.T) {
	cases := []struct {
		name string
		tags map[string]string
		want []string // substrings of the error
	}{
		{"empty", map[string]string{}, []string{`"role" is missing`, `"vsn"`, `"dc"`}},
		{"unknown role", map[string]string{"role": "gpu", "vsn": "1", "dc": "dc1"}, []string{`"role" has "gpu"`}},
		{"server without addresses", map[string]string{"role": "server", "vsn": "1", "dc": "dc1"}, []string{`tag "raft"`, `tag "http"`}},
		{"bad raft address", map[string]string{"role": "server", "vsn": "1", "dc": "dc1", "raft": "nohost", "http": "h:1"}, []string{`"raft" is "nohost"`}},
		{"bad expect", map[string]string{"role": "server", "vsn": "1", "dc": "dc1", "raft": "h:2", "http": "h:1", "expect": "three"}, []string{`"expect" is "three"`}},
		{"bad version", map[string]string{"role": "client", "vsn": "x", "dc": "dc1"}, []string{`"vsn" is "x"`}},
		{"bad log format", map[string]string{"role": "client", "vsn": "1", "dc": "dc1", "lf": "0"}, []string{`"lf" is "0"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTags(tc.tags)
			if err == nil {
				t.Fatal("ParseTags accepted bad tags")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseTagsNewerVersion(t *testing.T) {
	// A newer agent's tags are read; unknown keys are ignored.
	got, err := ParseTags(map[string]string{"role": "client", "vsn": "7", "dc": "dc1", "future": "x"})
	if err != nil {
		t.Fatalf("ParseTags: %v", err)
	}
	if !got.Client || got.Version != 7 {
		t.Errorf("got %+v", got)
	}
}
