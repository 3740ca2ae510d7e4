// Package exepages lets a long-running process give back the pages of its
// own executable that it needed only to start.
//
// A Go daemon touches much of its binary before it serves anything: every
// package's initialiser, the flag and config parsers, the state replay,
// the first collection's walk of function metadata. On an ext4 root the
// kernel reads the binary in large folios (up to 2 MiB), and a fault maps
// the whole folio, so an idle nai agent kept 27 MiB of its 35 MB binary
// resident (BENCH.md) while its steady work (heartbeats, gossip, polls, the
// collector) runs a fifth of that. The kernel would reclaim the cold part
// only under pressure, and on a GPU host that pressure comes from the
// training jobs the agent is there to serve.
//
// Release, called once when the agent has started and is idle, does what
// reclaim would: for each read-only mapping of the executable it asks for
// no huge-page mappings (MADV_NOHUGEPAGE), no read-ahead (MADV_RANDOM), and
// then pages it out (MADV_PAGEOUT, Linux 5.4 and later) and stops mapping
// what is left (MADV_DONTNEED: pages another process of the same file
// maps). Page cache that no other process maps is freed, and from then on
// the process faults its code back a 4 KiB page at a time, as it runs it.
// The cost is a disk read the first time a path not run since is taken
// again (a rarely used route, a snapshot): measured in
// release_linux_test.go.
//
// Read-ahead stays off for the life of the process. Turned back on a
// minute after the release, an idle server grew from 11.7 to 15.5 MiB in
// a quarter of an hour (its first job GC, at 5 minutes, read 3.5 MiB of
// code in read-ahead's pieces); left off, from 11.2 to 12.5 MiB, the pages
// that GC ran. A burst of work after the release then reads each new page
// of code alone: one read of 4 KiB per page, once.
//
// The kernel pages file pages out only for a process that could open the
// file for writing (its owner, or root); for any other it does nothing,
// and Release reports that nothing was freed. Writable mappings and
// read-only ones holding private copies (a PIE binary's relocated data)
// are never touched. It imports nothing of the project.
package exepages
