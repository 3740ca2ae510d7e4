package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nai job outputs -all ARRAY unpacks every member's outputs side by side,
// DIR/ID_N each, and names the members that kept none; without -all an
// array id still gives its first member's, as before.
func TestArrayOutputsAll(t *testing.T) {
	a := startAgent(t, t.TempDir(), 2)
	dir := t.TempDir()
	writeFile(t, dir, "sweep.sh", `#!/bin/bash
#SBATCH -J sweep
#SBATCH --array=0-2
[ "$SLURM_ARRAY_TASK_ID" = 2 ] && exit 0
echo "member $SLURM_ARRAY_TASK_ID" > "$NAI_OUTPUT_DIR/result.txt"
`)
	out, errOut, code := naiIn(t, a.addr, dir, "job", "run", "-detach", "sweep.sh")
	if code != 0 {
		t.Fatalf("submit: exit %d\n%s%s", code, out, errOut)
	}
	id := strings.TrimSpace(out)
	for _, m := range a.arrayMembers(id) {
		a.waitJob(m.ID, 60*time.Second)
	}
	got, errOut, code := naiIn(t, a.addr, dir, "job", "outputs", "-all", "-json", id)
	if code != 0 {
		t.Fatalf("nai job outputs -all %s: exit %d\n%s", id, code, errOut)
	}
	var w struct {
		Dir     string   `json:"dir"`
		Without []string `json:"without"`
		Files   int      `json:"files"`
	}
	if err := json.Unmarshal([]byte(got), &w); err != nil {
		t.Fatalf("decode %q: %v", got, err)
	}
	if w.Files != 2 || len(w.Without) != 1 || w.Without[0] != id+"_2" {
		t.Errorf("outputs -all: %+v, want 2 files and member %s_2 without outputs", w, id)
	}
	for _, n := range []string{"0", "1"} {
		b, err := os.ReadFile(filepath.Join(dir, w.Dir, id+"_"+n, "result.txt"))
		if err != nil || string(b) != "member "+n+"\n" {
			t.Errorf("member %s's result: %q, %v", n, b, err)
		}
	}
	// -all of a job that is no array, and of a member, are usage errors.
	if _, errOut, code := naiIn(t, a.addr, dir, "job", "outputs", "-all", id+"_1"); code == 0 || !strings.Contains(errOut, "-all takes an array id") {
		t.Errorf("-all of a member: exit %d\n%s", code, errOut)
	}
	// Without -all: the first member's, with a note naming -all.
	_, errOut, code = naiIn(t, a.addr, dir, "job", "outputs", "-o", "first", id)
	if b, err := os.ReadFile(filepath.Join(dir, "first", "result.txt")); code != 0 || err != nil || string(b) != "member 0\n" || !strings.Contains(errOut, "-all: every member's") {
		t.Errorf("outputs of the array id: exit %d, %q, %v\n%s", code, b, err, errOut)
	}
}
