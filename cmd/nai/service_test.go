package main

import (
	"bytes"
	"fmt"
	"strings"
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

// A replica that is not healthy says how its last run ended beside what
// the last check got, without the dialled address (the ADDRESS column
// has it).
func TestReplicaNote(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    structs.ReplicaStatus
		want string
	}{
		{"crash loop", structs.ReplicaStatus{Status: structs.AllocRunning, Restarts: 4, LastExit: "exit code 3",
			HealthError: "GET /health: dial tcp 127.0.0.1:20001: connect: connection refused"},
			"exited (exit code 3), restarting; unhealthy: GET /health: connection refused"},
		{"restarting, not checked since", structs.ReplicaStatus{Status: structs.AllocRunning, Restarts: 1, LastExit: "killed by SIGSEGV",
			HealthError: "restarting after killed by SIGSEGV"}, "killed by SIGSEGV, restarting"},
		{"never exited", structs.ReplicaStatus{Status: structs.AllocRunning, HealthError: "GET /health answered 500 Internal Server Error"},
			"unhealthy: GET /health answered 500 Internal Server Error"},
		{"timeout kept", structs.ReplicaStatus{Status: structs.AllocRunning, HealthError: "GET /health: no answer within 1s"},
			"unhealthy: GET /health: no answer within 1s"},
		{"no check yet", structs.ReplicaStatus{Status: structs.AllocRunning}, "not healthy yet"},
		{"pending", structs.ReplicaStatus{Status: structs.AllocPending}, "starting"},
		{"pending with reason", structs.ReplicaStatus{Status: structs.AllocPending, Message: "fetching model"}, "fetching model"},
		{"stopping", structs.ReplicaStatus{Status: structs.AllocRunning, Stopping: true, LastExit: "exit code 1", Restarts: 1}, "stopping"},
		{"healthy after a restart", structs.ReplicaStatus{Status: structs.AllocRunning, Healthy: true, Restarts: 1, LastExit: "exit code 1"}, "last exit: exit code 1"},
		{"healthy", structs.ReplicaStatus{Status: structs.AllocRunning, Healthy: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := replicaNote(tc.r); got != tc.want {
				t.Errorf("replicaNote = %q, want %q", got, tc.want)
			}
		})
	}
}

// The status line counts the replicas of an earlier version that still
// take calls during a rollout, and says "replica" for one.
func TestHealthSummary(t *testing.T) {
	v1 := func(healthy, stopping bool) structs.ReplicaStatus {
		return structs.ReplicaStatus{Status: structs.AllocRunning, Version: 1, Healthy: healthy, Stopping: stopping}
	}
	for _, tc := range []struct {
		name string
		s    structs.Service
		want string
	}{
		{"one replica", structs.Service{Version: 1, Desired: 1, Healthy: 1, Replicas: []structs.ReplicaStatus{v1(true, false)}}, "1 of 1 replica healthy"},
		{"none placed", structs.Service{Version: 1, Desired: 2}, "0 of 2 replicas healthy"},
		{"rollout not placed", structs.Service{Version: 2, Desired: 2, Replicas: []structs.ReplicaStatus{v1(true, false), v1(true, false)}},
			"2 replicas of version 1 serving; 0 of 2 of version 2 healthy"},
		{"one old left", structs.Service{Version: 2, Desired: 1, Replicas: []structs.ReplicaStatus{v1(true, false), v1(false, false)}},
			"1 replica of version 1 serving; 0 of 1 of version 2 healthy"},
		{"stopping old ones take no calls", structs.Service{Version: 2, Desired: 2, Healthy: 2, Replicas: []structs.ReplicaStatus{v1(true, true)}},
			"2 of 2 replicas healthy"},
		{"two old versions", structs.Service{Version: 3, Desired: 1, Replicas: []structs.ReplicaStatus{v1(true, false),
			{Status: structs.AllocRunning, Version: 2, Healthy: true}}}, "2 replicas of earlier versions serving; 0 of 1 of version 3 healthy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := healthSummary(&tc.s); got != tc.want {
				t.Errorf("healthSummary = %q, want %q", got, tc.want)
			}
		})
	}
}

// The walkthrough's rollout: version 2's replicas cannot be placed while
// version 1's two serve every call; one of them crash-loops.
func TestFormatServiceRolloutNotPlaced(t *testing.T) {
	s := &structs.Service{
		Name: "echo", JobID: "9", User: "alice", Status: structs.JobRunning, Model: "echo:2", Version: 2, Desired: 2,
		Path: "/v1/services/echo/", Reason: "Resources: needs 1 x H100, none free",
		Rollout: &structs.Rollout{FromVersion: 1, ToVersion: 2, Status: structs.RolloutRunning, FromModel: "echo:1", ToModel: "echo:2",
			StartTime: ago(time.Minute), Deadline: now.Add(4 * time.Minute)},
		Replicas: []structs.ReplicaStatus{
			{Replica: 0, AllocID: "9.3", Node: "gpu-1", Status: structs.AllocPending, Version: 2},
			{Replica: 0, AllocID: "9.1", Node: "gpu-1", Address: "10.0.0.1:20000", Healthy: true, Status: structs.AllocRunning, Version: 1},
			{Replica: 1, AllocID: "9.2", Node: "gpu-2", Address: "10.0.0.2:20000", Healthy: true, Status: structs.AllocRunning, Version: 1},
		},
	}
	var b bytes.Buffer
	if err := formatService(&b, s, "http://127.0.0.1:4646/v1/services/echo/", now); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "service_status_rollout_unplaced", b.Bytes())
}

func TestServiceWordsSingular(t *testing.T) {
	if got, want := scaledLine("echo", 1), "Service echo scaled to 1 replica."; got != want {
		t.Errorf("scaledLine = %q, want %q", got, want)
	}
	if got, want := scaledLine("echo", 3), "Service echo scaled to 3 replicas."; got != want {
		t.Errorf("scaledLine = %q, want %q", got, want)
	}
	for in, want := range map[string]string{
		"1 replicas of version 2 healthy; 1 of version 1 stopped":  "1 replica of version 2 healthy; 1 of version 1 stopped",
		"2 replicas of version 2 healthy; 2 of version 1 stopped":  "2 replicas of version 2 healthy; 2 of version 1 stopped",
		"11 replicas of version 2 healthy; 1 of version 1 stopped": "11 replicas of version 2 healthy; 1 of version 1 stopped",
	} {
		if got := rolloutReason(in); got != want {
			t.Errorf("rolloutReason(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReplicaNoteRestartedForHealth(t *testing.T) {
	r := structs.ReplicaStatus{Status: structs.AllocRunning, Restarts: 3, LastExit: "restarted (unhealthy: 3 failed checks): killed by SIGTERM",
		HealthError: "GET /health: no answer within 1s"}
	if got, want := replicaNote(r), "restarted (unhealthy: 3 failed checks): killed by SIGTERM; unhealthy: GET /health: no answer within 1s"; got != want {
		t.Errorf("replicaNote = %q, want %q", got, want)
	}
}

// nai serve -h states the contract the client enforces: its numbers are
// the service defaults a served model gets.
func TestServeHelpStatesHealthContract(t *testing.T) {
	d := serveCommand().Description
	for _, want := range []string{
		"$NAI_PORT",
		"GET " + structs.DefaultHealthPath + " with a status below 400",
		"within " + structs.DefaultHealthTimeout.String(),
		"checks every " + structs.DefaultHealthInterval.String(),
		"the " + structs.DefaultHealthGrace.String() + " after each",
		fmt.Sprintf("%d failed in a row", structs.DefaultUnhealthyAfter),
	} {
		if !strings.Contains(strings.Join(strings.Fields(d), " "), want) {
			t.Errorf("nai serve -h does not say %q:\n%s", want, d)
		}
	}
}
