// Package testtool is for tests that run a program the machine may lack
// (shellcheck, systemd-analyze, fish, ruby): Need finds it, installs its
// Debian package with apt-get when the test runs as root, and otherwise
// (always with -short) skips the test saying what is missing and how to
// get it; Buffer holds a running process's output for a test to read;
// Watchdog, called from a TestMain, ends a hung test binary a minute
// before its -test.timeout and names what hangs in the last lines it
// prints (CI logs keep the tail); PhillyTrace finds the shared job trace
// outside the repository, or skips. Only tests import it.
package testtool
