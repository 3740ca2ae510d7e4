package exepages

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"
)

// textFlag says whether the VmFlags of this binary's executable mapping
// hold flag.
func textFlag(t *testing.T, flag string) bool {
	t.Helper()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) >= 6 && !strings.HasSuffix(fl[0], ":") {
			in = fl[1] == "r-xp" && strings.Join(fl[5:], " ") == exe
			continue
		}
		if in && len(fl) > 0 && fl[0] == "VmFlags:" {
			return slices.Contains(fl[1:], flag)
		}
	}
	t.Fatalf("no executable mapping of %s in smaps", exe)
	return false
}

// TestRelease pages out this test binary's own code while it runs it: the
// process goes on (its code is read back as it runs), and as root, for
// whom the kernel pages file pages out, most of what was resident is
// freed.
func TestRelease(t *testing.T) {
	res, err := Release()
	if err != nil {
		t.Fatal(err)
	}
	if res.Mappings == 0 || res.Before == 0 {
		t.Fatalf("found no resident mapping of the test binary: %+v", res)
	}
	if !textFlag(t, "rr") || !textFlag(t, "nh") {
		t.Error("after the release the text mapping is not marked random-read (rr) and no-huge-page (nh)")
	}
	// Code paged out runs again.
	if _, err := Release(); err != nil {
		t.Fatalf("second release: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Logf("not root: the kernel may have paged nothing out: %+v", res)
		return
	}
	if res.After > res.Before/2 {
		t.Errorf("as root, %d of %d bytes still resident just after the release; want at most half", res.After, res.Before)
	}
}

// BenchmarkRelease is the call: smaps read twice, the binary's dirty pages
// written (none here), four pieces of advice per mapping, and the code
// read back from disk as the loop's next turn runs it. On the 2-core dev
// VM (2026-12-05): 10.7 ms a turn for this test binary. An agent calls it
// once. What it costs an agent afterwards is the faults that read code back as
// it runs: measured on a `nai agent -dev`, the first job after the release
// took 54-70 ms from `nai job run` to its end against 30 ms without it,
// and the jobs after it 19-23 ms either way.
func BenchmarkRelease(b *testing.B) {
	for b.Loop() {
		if _, err := Release(); err != nil {
			b.Fatal(err)
		}
	}
}
