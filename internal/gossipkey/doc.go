// Package gossipkey makes and reads the key that encrypts the agents' serf
// gossip (`nai operator keygen`, the agent's `encrypt` setting). It is its
// own small package so that the CLI binary can make a key without linking
// serf.
package gossipkey
