// Command client is the least a Go client agent can be on this machine:
// hashicorp/serf joined to a server, and net/http serving one route.
// `make bench` starts it beside `nai agent -client` and reads its idle
// memory the same way, so that the idle-memory row shows its floor from
// the same run. It runs nothing and is not part of nai.
//
// Usage: client HTTP_ADDR SERF_ADDR JOIN_ADDR
package main

import (
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/hashicorp/serf/serf"
)

func main() {
	if len(os.Args) != 4 {
		log.Fatal("usage: client HTTP_ADDR SERF_ADDR JOIN_ADDR")
	}
	httpAddr, serfAddr, join := os.Args[1], os.Args[2], os.Args[3]
	host, port, err := net.SplitHostPort(serfAddr)
	if err != nil {
		log.Fatal(err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		log.Fatal(err)
	}
	conf := serf.DefaultConfig()
	conf.NodeName = "floor-client"
	conf.LogOutput = io.Discard
	conf.MemberlistConfig.LogOutput = io.Discard
	conf.MemberlistConfig.BindAddr, conf.MemberlistConfig.BindPort = host, p
	conf.MemberlistConfig.AdvertiseAddr, conf.MemberlistConfig.AdvertisePort = host, p
	s, err := serf.Create(conf)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := s.Join([]string{join}, true); err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("GET /v1/status", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "{\"members\":"+strconv.Itoa(s.NumNodes())+"}\n")
	})
	go func() {
		for range time.Tick(10 * time.Second) {
			debug.FreeOSMemory()
		}
	}()
	log.Fatal(http.ListenAndServe(httpAddr, nil))
}
