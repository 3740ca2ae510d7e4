//go:build !nai_cli

package main

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
)

// checkLocalAddress refuses an address this host does not have: nothing
// could listen on it, and "cannot assign requested address" from the
// first listener said little. An unspecified address (0.0.0.0, ::) is
// every address and passes; so does any address inside the network of a
// loopback interface (Linux answers all of 127.0.0.0/8 on lo), and any
// other address the kernel lets a listener bind.
func checkLocalAddress(setting, ip string) error {
	want := net.ParseIP(ip)
	if want == nil || want.IsUnspecified() {
		return nil
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil // the listener will say what is wrong
	}
	var have []string
	for _, ifc := range ifaces {
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			if n.IP.Equal(want) || (ifc.Flags&net.FlagLoopback != 0 && n.Contains(want)) {
				return nil
			}
			have = append(have, n.IP.String())
		}
	}
	// The kernel is the judge: an address it lets us bind is this host's
	// (a route of type local, net.ipv4.ip_nonlocal_bind).
	if l, err := net.Listen("tcp", net.JoinHostPort(ip, "0")); err == nil {
		l.Close()
		return nil
	}
	return fmt.Errorf("%s %s is not an address of this host (it has %s): give the address other agents reach this host at", setting, ip, strings.Join(have, ", "))
}

// listenHint says what to do about a listener that failed on addr, named
// by setting (such as "ports.http"): the error alone ("bind: address
// already in use") does not say which setting to change.
func listenHint(setting, addr string, err error) string {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Sprintf("another program (another agent?) listens on %s: stop it or choose another %s", addr, setting)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Sprintf("%s is not an address of this host", addr)
	case errors.Is(err, syscall.EACCES):
		return fmt.Sprintf("ports below 1024 need privileges: choose another %s", setting)
	}
	return "check " + setting
}
