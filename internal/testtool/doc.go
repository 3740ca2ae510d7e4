// Package testtool is for tests that run a program the machine may lack
// (shellcheck, systemd-analyze, fish, nfpm): Need finds it, installs its
// Debian package with apt-get when the test runs as root, and otherwise
// skips the test saying what is missing and how to get it (always with
// -short). Only tests
// import it.
package testtool
