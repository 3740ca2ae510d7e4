package main

import (
	"bufio"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// userUmask is this process's umask, which is the user's: what the CLI
// unpacks into the user's folder gets the modes the user's own new files
// would (archive.WithUmask). Linux shows it in /proc/self/status (4.7
// on); elsewhere it is set and put back at once, before anything else of
// the CLI creates a file.
func userUmask() fs.FileMode {
	if f, err := os.Open("/proc/self/status"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "Umask:"); ok {
				if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
					return fs.FileMode(m).Perm()
				}
				break
			}
		}
	}
	old := syscall.Umask(0o022)
	syscall.Umask(old)
	return fs.FileMode(old).Perm()
}
