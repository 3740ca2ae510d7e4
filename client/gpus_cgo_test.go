//go:build cgo

package client

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/client/fingerprint"
	"github.com/nai-project/nai/structs"
)

// fakeGPUHost is a host whose 4 GPUs are a go-nvml mock machine.
func fakeGPUHost(t *testing.T) *fingerprint.Host {
	t.Helper()
	h, err := fingerprint.Fingerprint(fingerprint.Options{DevGPUs: 4, DevSeed: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func postFault(t *testing.T, h http.Handler, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/client/dev/gpu-fault", strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// lastNode is the node as last registered.
func (f *fakeServers) lastNode() *structs.Node {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.nodes) == 0 {
		return nil
	}
	return f.nodes[len(f.nodes)-1]
}

// An XID on a GPU in use: its utilisation was reported with the job, the
// job ends gpu-failed, the node is registered again with the GPU
// unhealthy, and nothing starts on it any more.
func TestClientWithdrawsFailedGPU(t *testing.T) {
	f := newFakeServers(t)
	host := fakeGPUHost(t)
	c, err := New(Config{RootTasks: RootTasksAllow,
		DataDir: t.TempDir(), NodeName: "gpu-test", Servers: f.api(t), Host: host,
		ExecutorBinary: selfExe(t), KillGrace: 500 * time.Millisecond, Logger: testLogger(t),
		GPUSampleInterval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	runClient(t, c)
	waitFor(t, 10*time.Second, "node registration", func() bool { return f.lastNode() != nil })

	if err := host.FakeMachine().SetUsage(2, 55, 3<<30); err != nil {
		t.Fatal(err)
	}
	job := scriptJob("gpu", "sleep 60")
	a := newAlloc(c, job, 1, 2)
	f.put(a)
	waitFor(t, 10*time.Second, "gpu 2's utilisation reported with the job", func() bool {
		for _, u := range f.status(a.ID).GPUUsage {
			if u.Index == 2 && u.UtilizationPercent == 55 && u.MemoryUsedBytes == 3<<30 && u.PeakMemoryBytes == 3<<30 {
				return true
			}
		}
		return false
	})

	if rec := postFault(t, c.Handler(), `{"fault": "2:xid=79"}`); rec.Code != http.StatusOK {
		t.Fatalf("inject fault: %d %s", rec.Code, rec.Body)
	}
	waitFor(t, terminalWait, "the job on the failed gpu ends", func() bool { return f.terminal(a.ID) })
	st := f.status(a.ID)
	if st.Status != structs.AllocFailed || st.ExitReason != structs.ExitGPUFailed || !strings.Contains(st.Message, "xid 79") {
		t.Errorf("final status %s/%s %q, want failed/gpu-failed naming xid 79", st.Status, st.ExitReason, st.Message)
	}
	waitFor(t, 10*time.Second, "the node registered with gpu 2 unhealthy", func() bool {
		n := f.lastNode()
		return !n.GPUs[2].Healthy && strings.Contains(n.GPUs[2].Unhealthy, "xid 79") && n.GPUs[1].Healthy
	})

	// A placement that raced the withdrawal does not start.
	late := newAlloc(c, scriptJob("late", "true"), 2)
	f.put(late)
	waitFor(t, terminalWait, "the late allocation ends", func() bool { return f.terminal(late.ID) })
	if st := f.status(late.ID); st.ExitReason != structs.ExitStartFail || !strings.Contains(st.Message, "gpu 2 is unhealthy") {
		t.Errorf("allocation on the withdrawn gpu: %s %q, want start-failed naming the gpu", st.ExitReason, st.Message)
	}
}

func TestGPUFaultRoute(t *testing.T) {
	f := newFakeServers(t)
	fake, err := New(Config{RootTasks: RootTasksAllow, DataDir: t.TempDir(), Servers: f.api(t), Host: fakeGPUHost(t), ExecutorBinary: selfExe(t), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		c        *Client
		body     string
		wantCode int
		wantBody string
	}{
		{"lost gpu", fake, `{"fault": "1:lost"}`, http.StatusOK, `"fault":"1:lost"`},
		{"not json", fake, `2:xid=79`, http.StatusBadRequest, `expected a JSON body`},
		{"bad fault", fake, `{"fault": "two:xid=79"}`, http.StatusBadRequest, `is not an index`},
		{"no such gpu", fake, `{"fault": "9:xid=79"}`, http.StatusBadRequest, `inject gpu fault 9:xid=79`},
		{"real gpus", newTestClient(t, f, t.TempDir(), nil), `{"fault": "0:xid=79"}`, http.StatusNotFound, `only into the fake gpus`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := postFault(t, tc.c.Handler(), tc.body)
			if rec.Code != tc.wantCode || !bytes.Contains(rec.Body.Bytes(), []byte(tc.wantBody)) {
				t.Errorf("answer %d %s, want %d containing %s", rec.Code, rec.Body, tc.wantCode, tc.wantBody)
			}
		})
	}
}
