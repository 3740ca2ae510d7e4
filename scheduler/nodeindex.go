package scheduler

import "github.com/nai-project/nai/structs"

// idIndex finds a node's position by ID among nodes sorted by ID, which a
// pass does for every live allocation. Node IDs of one cluster share a
// prefix (a host-name scheme) or differ early (UUIDs), so the 8 bytes
// after the common prefix, as a big-endian number, nearly always tell
// the IDs apart: the search compares integers and checks one string at
// the end, several times faster than comparing strings all the way down.
type idIndex struct {
	prefix string   // what every node ID starts with
	keys   []uint64 // key of each node's ID after the prefix; ascending
}

func newIDIndex(nodes []*structs.Node) idIndex {
	if len(nodes) == 0 {
		return idIndex{}
	}
	prefix := nodes[0].ID
	for _, n := range nodes[1:] {
		k := 0
		for k < len(prefix) && k < len(n.ID) && prefix[k] == n.ID[k] {
			k++
		}
		prefix = prefix[:k]
	}
	x := idIndex{prefix: prefix, keys: make([]uint64, len(nodes))}
	for i, n := range nodes {
		x.keys[i] = idKey(n.ID, len(prefix))
	}
	return x
}

// idKey is the 8 bytes of id from position from on, big-endian, padded
// with zeros. For sorted IDs with a common prefix the keys never go down:
// where two IDs first differ within those bytes the key orders them, and
// a shorter ID pads with zeros, which sort first.
func idKey(id string, from int) uint64 {
	var k uint64
	for b := from; b < from+8; b++ {
		k <<= 8
		if b < len(id) {
			k |= uint64(id[b])
		}
	}
	return k
}

// find returns the position of the node whose ID is id.
func (x *idIndex) find(nodes []*structs.Node, id string) (int, bool) {
	// No need to check the prefix: an ID without it matches no node's
	// ID in the final comparison, and a node's own ID has its own key.
	k := idKey(id, len(x.prefix))
	lo, hi := 0, len(x.keys)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if x.keys[m] < k {
			lo = m + 1
		} else {
			hi = m
		}
	}
	for ; lo < len(x.keys) && x.keys[lo] == k; lo++ {
		if nodes[lo].ID == id {
			return lo, true
		}
	}
	return 0, false
}
