// Package e2e holds the end-to-end tests: they build the nai binary, start
// real agents (`nai agent -dev`) on free loopback ports with temporary data
// dirs, and drive them with the real CLI, as a user would. With NAI_BENCH=1
// the TestBench* functions measure issue 2's speed targets (`make bench`).
package e2e
