package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nai-project/nai/structs"
)

func testService() *structs.Service {
	return &structs.Service{
		Name: "digits-cnn", JobID: "7", User: "alice", Group: "vision", Status: structs.JobRunning,
		Model: "digits-cnn:2", Version: 2, Desired: 2, Healthy: 1, Path: "/v1/services/digits-cnn/",
		Rollout: &structs.Rollout{FromVersion: 1, ToVersion: 2, Status: structs.RolloutRunning, FromModel: "digits-cnn:1",
			ToModel: "digits-cnn:2", StartTime: ago(time.Minute), Deadline: now.Add(4 * time.Minute)},
		Replicas: []structs.ReplicaStatus{
			{Replica: 0, AllocID: "7.3", Node: "gpu-1", Address: "10.0.0.1:20001", Healthy: true, Status: structs.AllocRunning, Version: 2},
			{Replica: 1, AllocID: "7.4", Node: "gpu-2", Address: "10.0.0.2:20000", Status: structs.AllocRunning, Version: 2, Restarts: 3,
				HealthError: "GET /health: no answer within 1s", LastExit: "restarted (unhealthy: 3 failed checks): killed by SIGTERM"},
			{Replica: 0, AllocID: "7.1", Node: "gpu-1", Address: "10.0.0.1:20000", Healthy: true, Status: structs.AllocRunning, Version: 1, Restarts: 1,
				LastExit: "killed by SIGKILL"},
			{Replica: 1, AllocID: "7.2", Node: "gpu-2", Address: "10.0.0.2:20002", Healthy: true, Status: structs.AllocRunning, Version: 1, Stopping: true},
		},
	}
}

func TestFormatService(t *testing.T) {
	var b bytes.Buffer
	if err := formatService(&b, testService(), "http://127.0.0.1:4646/v1/services/digits-cnn/", now); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "service_status", b.Bytes())
}

func TestFormatServices(t *testing.T) {
	var b bytes.Buffer
	pending := &structs.Service{Name: "echo", JobID: "9", Status: structs.JobPending, Version: 1, Desired: 1, Path: "/v1/services/echo/"}
	if err := formatServices(&b, []*structs.Service{testService(), pending}); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "service_list", b.Bytes())
	b.Reset()
	if err := formatServices(&b, nil); err != nil || b.String() != "No services run.\n" {
		t.Errorf("empty list: %q, %v", b.String(), err)
	}
}

func TestSplitCommand(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		pos, cmd []string
	}{
		{[]string{"m"}, []string{"m"}, nil},
		{[]string{"m", "--", "python3", "app.py"}, []string{"m"}, []string{"python3", "app.py"}},
		{[]string{"m", "--"}, []string{"m"}, []string{}},
		{[]string{"--", "-x"}, []string{}, []string{"-x"}},
	} {
		pos, cmd := splitCommand(tc.args)
		if !cmp.Equal(pos, tc.pos) || !cmp.Equal(cmd, tc.cmd) {
			t.Errorf("splitCommand(%q) = %q, %q; want %q, %q", tc.args, pos, cmd, tc.pos, tc.cmd)
		}
	}
}
