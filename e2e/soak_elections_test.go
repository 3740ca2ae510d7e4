package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nai-project/nai/api"
	"github.com/nai-project/nai/structs"
)

// Raft's shortened timeouts (server/raft_timing.go) must not buy false
// elections: three servers keep one leader for minutes while every core
// of the machine is kept busy by spinning processes (twice as many as
// cores, at the servers' own priority) and submissions flow. Every server
// counts the leader changes it saw (nai_raft_leader_changes_total): the
// first election only. NAI_SOAK_DURATION sets the length (default 2m).
func TestClusterSoakNoSpuriousElectionsLong(t *testing.T) {
	if os.Getenv("NAI_LONG") != "1" {
		t.Skip("soak test: set NAI_LONG=1 (make test-long)")
	}
	length := 2 * time.Minute
	if v := os.Getenv("NAI_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("NAI_SOAK_DURATION=%q: %v", v, err)
		}
		length = d
	}
	c := startCluster(t, 3, 0)
	waitFor(t, 30*time.Second, "a leader", func() bool { return c.leader() != nil })
	before := changesPerServer(t, c)

	for range 2 * runtime.NumCPU() {
		spin := exec.Command("/bin/sh", "-c", "while :; do :; done")
		if err := spin.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = spin.Process.Signal(syscall.SIGKILL)
			_ = spin.Wait()
		})
	}
	watch := watchLeader(func() []*clusterAgent { return c.servers })

	var addrs []string
	for _, s := range c.servers {
		addrs = append(addrs, s.addr)
	}
	cl, err := api.New(api.Config{Address: strings.Join(addrs, ","), IgnoreEnv: true})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(length)
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, failed := 0, 0
	begin := time.Now().Add(24 * time.Hour)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				job := &structs.Job{Name: fmt.Sprintf("soak-%d-%d", w, i), BeginTime: begin,
					Resources: structs.Resources{CPU: 0.1, MemoryBytes: 16 << 20}, Task: structs.Task{Command: "/bin/true"}}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := cl.Register(ctx, job)
				cancel()
				mu.Lock()
				if err != nil {
					failed++
					t.Logf("submission failed: %v", err)
				} else {
					accepted++
				}
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	seen := watch.stop()
	after := changesPerServer(t, c)
	t.Logf("%s with the CPU saturated: %d submissions accepted, %d failed; leader changes per server %v -> %v", length, accepted, failed, before, after)
	if seen != 0 || !slices.Equal(before, after) {
		t.Errorf("the leader changed while it lived (%d changes seen; per server %v -> %v): raft's timeouts are too short for this machine", seen, before, after)
	}
	if failed > 0 {
		t.Errorf("%d submissions failed while the leader lived", failed)
	}
}

// changesPerServer is nai_raft_leader_changes_total of each server.
func changesPerServer(t *testing.T, c *testCluster) []int {
	t.Helper()
	var out []int
	for _, s := range c.servers {
		n := 0
		if f := scrape(t, s.addr, "")["nai_raft_leader_changes_total"]; f != nil && len(f.GetMetric()) > 0 {
			n = int(f.GetMetric()[0].GetCounter().GetValue())
		}
		out = append(out, n)
	}
	return out
}
