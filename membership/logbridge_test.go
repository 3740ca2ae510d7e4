package membership

import "testing"

// TestClassifyOnePeerOneProblem: a peer with the wrong gossip key is one
// problem, whatever port each of its connections came from.
func TestClassifyOnePeerOneProblem(t *testing.T) {
	k1, m1 := classify("[ERR] memberlist: failed to receive: No installed keys could decrypt the message from=127.0.0.121:41230")
	k2, m2 := classify("[ERR] memberlist: failed to receive: No installed keys could decrypt the message from=127.0.0.121:52344")
	if k1 != ProblemEncrypt || k2 != k1 || m1 != m2 {
		t.Fatalf("two connections of one peer: %q %q / %q %q, want one encrypt problem", k1, m1, k2, m2)
	}
	_, m3 := classify("[ERR] memberlist: failed to receive: No installed keys could decrypt the message from=127.0.0.122:41230")
	if m3 == m1 {
		t.Fatalf("two peers read as one: %q", m3)
	}
	if _, m := classify("message authentication failed from=[fe80::1]:7946"); m != "gossip encryption does not match a peer's (message authentication failed from=[fe80::1]): every agent needs the same `encrypt` key" {
		t.Fatalf("IPv6 peer: %q", m)
	}
}
