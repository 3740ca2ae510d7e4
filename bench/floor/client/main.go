// Command client is the least a Go client agent can be on this machine:
// hashicorp/serf joined to a server, net/http serving one route, and the
// two libraries a GPU host's agent is built on, linked and started the
// way nai's client starts them: containerd/cgroups (its own cgroup loaded
// through cgroup1 or cgroup2, as the host has them, read and never
// written) and go-nvml (here, as nai's -dev-gpus does, its mock machine of
// N GPUs, counted once through the nvml interface). `make bench` starts
// it beside `nai agent -client -dev-gpus 8` and reads its idle memory the
// same way, so that the idle-memory row shows its floor from the same
// run. It gives memory back as an idle agent does (free heap every 10 s,
// the binary's start-up pages once: internal/exepages). It runs nothing
// and is not part of nai.
//
// Usage: client HTTP_ADDR SERF_ADDR JOIN_ADDR GPUS
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

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	nvmlmock "github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
	"github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	"github.com/hashicorp/serf/serf"

	"github.com/nai-project/nai/internal/exepages"
)

func main() {
	if len(os.Args) != 5 {
		log.Fatal("usage: client HTTP_ADDR SERF_ADDR JOIN_ADDR GPUS")
	}
	httpAddr, serfAddr, join := os.Args[1], os.Args[2], os.Args[3]
	n, err := strconv.Atoi(os.Args[4])
	if err != nil || n < 1 {
		log.Fatalf("GPUS %q: expected a count of at least 1", os.Args[4])
	}
	mode := cgroups.Mode()
	if err := loadOwnCgroup(mode); err != nil {
		log.Fatal(err)
	}
	machine, err := nvmlmock.New(nvmlmock.WithGPUs(gpus.Multiple(n, gpus.H100_SXM5_80GB)...))
	if err != nil {
		log.Fatal(err)
	}
	var lib nvml.Interface = machine
	count, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		log.Fatalf("count GPUs: %v", ret)
	}
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
		io.WriteString(w, "{\"members\":"+strconv.Itoa(s.NumNodes())+",\"gpus\":"+strconv.Itoa(count)+",\"cgroup_mode\":"+strconv.Itoa(int(mode))+"}\n")
	})
	// Free memory back every 10 s, and the binary's start-up pages at
	// the first, as nai's agents do when idle (cmd/nai/memtrim.go).
	go func() {
		released := false
		for range time.Tick(10 * time.Second) {
			debug.FreeOSMemory()
			if !released {
				released = true
				if _, err := exepages.Release(); err != nil {
					log.Print(err)
				}
			}
		}
	}()
	log.Fatal(http.ListenAndServe(httpAddr, nil))
}

// loadOwnCgroup loads the process's own cgroup through the library's
// package for the host's mode.
func loadOwnCgroup(mode cgroups.CGMode) error {
	if mode == cgroups.Unified {
		group, err := cgroup2.NestedGroupPath("")
		if err != nil {
			return err
		}
		_, err = cgroup2.Load(group)
		return err
	}
	_, err := cgroup1.Load(cgroup1.NestedPath(""))
	return err
}
