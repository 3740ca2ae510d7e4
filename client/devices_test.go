package client

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nai-project/nai/client/fingerprint"
)

// A job given 2 of 8 (mock) GPUs sees exactly those in
// CUDA_VISIBLE_DEVICES and may open only their device nodes. The host has
// no NVIDIA devices, so the test makes fake ones (major 195, minor = index)
// with mknod; the devices cgroup lets an allowed one through to the kernel,
// which answers ENXIO for want of a driver, and refuses the others with
// EPERM before any driver is asked.
func TestClientPinsGPUDevices(t *testing.T) {
	cg := testCgroups(t)
	if cg == nil {
		t.Skip("needs real cgroups (root)")
	}
	devDir := t.TempDir()
	for i := range 8 {
		if err := unix.Mknod(filepath.Join(devDir, fmt.Sprintf("nvidia%d", i)), unix.S_IFCHR|0o666, int(unix.Mkdev(195, uint32(i)))); err != nil {
			t.Skipf("cannot make fake device nodes here: %v", err)
		}
	}
	f := newFakeServers(t)
	// Eight fake H100s from go-nvml's mock machine, through the real
	// fingerprint code (their minor numbers are their indices).
	host, err := fingerprint.Fingerprint(fingerprint.Options{DevGPUs: 8, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{RootTasks: RootTasksAllow,
		DataDir: t.TempDir(), NodeName: "gpu-test", HTTPAddr: "127.0.0.1:4646",
		Servers: f.api(t), Host: host, Cgroups: cg, DeviceDir: devDir,
		ExecutorBinary: selfExe(t), KillGrace: 500 * time.Millisecond, Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	runClient(t, c)
	job := scriptJob("dev1", `echo "CVD=$CUDA_VISIBLE_DEVICES"
for i in 0 1 2 3 4 5 6 7; do
  if (exec 3<"`+devDir+`/nvidia$i") 2>/dev/null; then echo "gpu$i=opened"
  else
    err=$( (exec 3<"`+devDir+`/nvidia$i") 2>&1 || true )
    case "$err" in
      *"not permitted"*) echo "gpu$i=EPERM" ;;
      *"No such device"*) echo "gpu$i=ENXIO" ;;
      *) echo "gpu$i=other:$err" ;;
    esac
  fi
done`)
	a := newAlloc(c, job, 2, 5)
	f.put(a)
	waitFor(t, terminalWait, "the allocation to end", func() bool { return f.terminal(a.ID) })
	out := readFile(t, allocDir(filepath.Join(c.allocsDir(), a.ID)).logPath("stdout"))
	if !strings.Contains(out, "CVD=2,5\n") {
		t.Errorf("CUDA_VISIBLE_DEVICES: output %q, want CVD=2,5", out)
	}
	for i := range 8 {
		want := fmt.Sprintf("gpu%d=EPERM", i)
		if i == 2 || i == 5 {
			want = fmt.Sprintf("gpu%d=ENXIO", i) // through the cgroup, no driver behind it
		}
		if !strings.Contains(out, want+"\n") {
			t.Errorf("want %s in the job's output:\n%s", want, out)
		}
	}
}

// GPU isolation fails closed: a GPU of the allocation whose device node is
// missing (or is not a character device) refuses the allocation with a
// reason, instead of leaving the job free to open every GPU of the host.
// The GPUs are go-nvml's mock machine's, through the real fingerprint code.
func TestGPUDeviceRulesFailClosed(t *testing.T) {
	devDir := t.TempDir()
	for i := range 6 {
		if err := unix.Mknod(filepath.Join(devDir, fmt.Sprintf("nvidia%d", i)), unix.S_IFCHR|0o666, int(unix.Mkdev(195, uint32(i)))); err != nil {
			t.Skipf("cannot make fake device nodes here: %v", err)
		}
	}
	// nvidia6 is a plain file; nvidia7 is missing.
	if err := os.WriteFile(filepath.Join(devDir, "nvidia6"), nil, 0o666); err != nil {
		t.Fatal(err)
	}
	host, err := fingerprint.Fingerprint(fingerprint.Options{DevGPUs: 8, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{cfg: Config{Host: host, DeviceDir: devDir}, logger: testLogger(t)}
	rules, err := c.gpuDeviceRules([]int{2, 5})
	if err != nil || rules == nil || len(rules.GPUs) != 2 || rules.GPUs[0].Minor != 2 || rules.GPUs[1].Minor != 5 {
		t.Fatalf("gpus 2 and 5: %+v, %v", rules, err)
	}
	if rules, err := c.gpuDeviceRules(nil); err != nil || rules == nil || len(rules.GPUs) != 0 {
		t.Errorf("no gpus: %+v, %v; want rules that allow none", rules, err)
	}
	for _, tc := range []struct {
		gpus []int
		want string
	}{
		{[]int{1, 7}, "gpu 7's device node " + filepath.Join(devDir, "nvidia7") + ": no such file or directory"},
		{[]int{6}, "gpu 6's device node " + filepath.Join(devDir, "nvidia6") + " is not a character device"},
		{[]int{9}, "no device node for gpu 9"},
	} {
		rules, err := c.gpuDeviceRules(tc.gpus)
		if err == nil || !strings.Contains(err.Error(), tc.want) || rules != nil {
			t.Errorf("gpus %v: %+v, %v; want an error mentioning %q", tc.gpus, rules, err, tc.want)
		}
	}
}
