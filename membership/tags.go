package membership

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// TagsVersion is the version of the tag contract this binary writes. A
// member with a newer version is still read: unknown tags are ignored.
const TagsVersion = 1

// The tag keys. They are short because serf limits all tags of a member to
// 512 bytes.
const (
	tagRole    = "role"
	tagVsn     = "vsn"
	tagDC      = "dc"
	tagHTTP    = "http"
	tagRaft    = "raft"
	tagExpect  = "expect"
	tagNodeID  = "id"
	tagCluster = "cluster"
	tagFormat  = "lf"
)

// Tags is what a member says about itself.
type Tags struct {
	Server          bool   `json:"server"`
	Client          bool   `json:"client"`
	Version         int    `json:"vsn"`
	Datacenter      string `json:"datacenter"`
	HTTPAddr        string `json:"http_addr,omitempty"`        // host:port of its HTTP API
	RaftAddr        string `json:"raft_addr,omitempty"`        // servers: host:port of raft
	BootstrapExpect int    `json:"bootstrap_expect,omitempty"` // servers: how many servers bootstrap together
	NodeID          string `json:"node_id,omitempty"`          // clients: the node id registered in raft
	ClusterID       string `json:"cluster_id,omitempty"`       // servers: the raft cluster their data belongs to
	// LogFormat (servers) is the newest raft log format the server reads
	// (fsm.Format); 0 when it does not say: a server from before formats
	// were advertised, which reads format 1.
	LogFormat int `json:"log_format,omitempty"`
}

// Role is "server", "client" or "server,client".
func (t Tags) Role() string {
	var r []string
	if t.Server {
		r = append(r, "server")
	}
	if t.Client {
		r = append(r, "client")
	}
	return strings.Join(r, ",")
}

// Map encodes the tags for serf.
func (t Tags) Map() map[string]string {
	m := map[string]string{
		tagRole: t.Role(),
		tagVsn:  strconv.Itoa(TagsVersion),
		tagDC:   t.Datacenter,
	}
	if t.HTTPAddr != "" {
		m[tagHTTP] = t.HTTPAddr
	}
	if t.RaftAddr != "" {
		m[tagRaft] = t.RaftAddr
	}
	if t.BootstrapExpect > 0 {
		m[tagExpect] = strconv.Itoa(t.BootstrapExpect)
	}
	if t.NodeID != "" {
		m[tagNodeID] = t.NodeID
	}
	if t.ClusterID != "" {
		m[tagCluster] = t.ClusterID
	}
	if t.LogFormat > 0 {
		m[tagFormat] = strconv.Itoa(t.LogFormat)
	}
	return m
}

// ParseTags is the one reader of the tag contract. It returns the tags it
// could read and an error naming everything that is wrong, so a member
// with bad tags is reported rather than silently half-used.
func ParseTags(m map[string]string) (Tags, error) {
	var t Tags
	var errs []error
	role, ok := m[tagRole]
	if !ok || role == "" {
		errs = append(errs, errors.New(`tag "role" is missing: expected server, client or server,client`))
	}
	for _, r := range strings.Split(role, ",") {
		switch r {
		case "server":
			t.Server = true
		case "client":
			t.Client = true
		case "":
		default:
			errs = append(errs, fmt.Errorf(`tag "role" has %q: expected server, client or server,client`, role))
		}
	}
	v, err := strconv.Atoi(m[tagVsn])
	if err != nil || v < 1 {
		errs = append(errs, fmt.Errorf(`tag "vsn" is %q: expected a version number such as %d`, m[tagVsn], TagsVersion))
	}
	t.Version = v
	t.Datacenter = m[tagDC]
	if t.Datacenter == "" {
		errs = append(errs, errors.New(`tag "dc" (datacenter) is missing`))
	}
	t.HTTPAddr = m[tagHTTP]
	t.RaftAddr = m[tagRaft]
	t.NodeID = m[tagNodeID]
	t.ClusterID = m[tagCluster]
	if t.HTTPAddr != "" {
		if _, _, err := net.SplitHostPort(t.HTTPAddr); err != nil {
			errs = append(errs, fmt.Errorf(`tag "http" is %q: expected host:port`, t.HTTPAddr))
		}
	}
	if t.Server {
		if t.RaftAddr == "" {
			errs = append(errs, errors.New(`a server needs tag "raft" (its raft address)`))
		} else if _, _, err := net.SplitHostPort(t.RaftAddr); err != nil {
			errs = append(errs, fmt.Errorf(`tag "raft" is %q: expected host:port`, t.RaftAddr))
		}
		if t.HTTPAddr == "" {
			errs = append(errs, errors.New(`a server needs tag "http" (its HTTP address)`))
		}
	}
	if s, ok := m[tagExpect]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf(`tag "expect" is %q: expected a number of servers`, s))
		}
		t.BootstrapExpect = n
	}
	if s, ok := m[tagFormat]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 255 {
			errs = append(errs, fmt.Errorf(`tag "lf" is %q: expected the raft log format the server reads (1 to 255)`, s))
		} else {
			t.LogFormat = n
		}
	}
	return t, errors.Join(errs...)
}
