package contrib

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nai-project/nai/internal/testtool"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const testVersion = "1.2.3-test"

// nfpm finds the packager: $NFPM, PATH, or where `make tools` puts it.
func nfpm(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("NFPM"); p != "" {
		return p
	}
	if p, err := exec.LookPath("nfpm"); err == nil {
		return p
	}
	if p, err := filepath.Abs("../bin/tools/nfpm"); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("nfpm is not installed: `make tools` installs it in bin/tools (make test and make dist do)")
	return ""
}

// buildDist builds nai stamped with testVersion and runs scripts/dist.sh,
// returning the archive and the .deb.
func buildDist(t *testing.T) (tgz, deb string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary and the release files: skipped with -short")
	}
	packager := nfpm(t)
	bin := naiBinary(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "dist")
	cmd := exec.Command("../scripts/dist.sh", bin, out)
	cmd.Env = append(os.Environ(), "NFPM="+packager, "NAI_VERSION="+testVersion, "NAI_DEB_VERSION=1.2.3~test", "NAI_ARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/dist.sh: %v\n%s", err, b)
	}
	return filepath.Join(out, "nai_"+testVersion+"_linux_amd64.tar.gz"), filepath.Join(out, "nai_1.2.3~test_amd64.deb")
}

// TestDist builds the release files and checks what is in them against
// testdata/dist-tar.golden and dist-deb.golden (go test -update rewrites
// them after an intended change).
func TestDist(t *testing.T) {
	tgz, deb := buildDist(t)

	t.Run("archive", func(t *testing.T) {
		entries := tarListing(t, tgz)
		golden(t, "testdata/dist-tar.golden", strings.Join(entries, "\n")+"\n")

		// It unpacks into one folder whose binary is the one built, and
		// whose install.sh installs it.
		unpacked := t.TempDir()
		if out, err := exec.Command("tar", "-C", unpacked, "-xzf", tgz).CombinedOutput(); err != nil {
			t.Fatalf("untar: %v\n%s", err, out)
		}
		top := filepath.Join(unpacked, "nai_"+testVersion+"_linux_amd64")
		if out, err := exec.Command(filepath.Join(top, "nai"), "version").CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "nai "+testVersion+"\n") {
			t.Errorf("nai version in the archive: %v\n%s", err, out)
		}
		root := t.TempDir()
		if out, err := exec.Command(filepath.Join(top, "contrib/install/install.sh"), "--root", root).CombinedOutput(); err != nil {
			t.Fatalf("install.sh --root from the archive: %v\n%s", err, out)
		}
		for _, f := range []string{"usr/local/bin/nai", "usr/local/bin/nai-agent", "usr/local/bin/nai-executor", "etc/nai/server.hcl", "etc/nai/client.hcl",
			"usr/share/bash-completion/completions/nai", "usr/share/doc/nai/operations.md"} {
			if _, err := os.Stat(filepath.Join(root, f)); err != nil {
				t.Errorf("install.sh did not install %s: %v", f, err)
			}
		}
		// Installing binaries without nai-executor beside them (an older
		// build) removes the installed one: the agent would prefer it to
		// the nai just installed.
		older := t.TempDir()
		for _, b := range []string{"nai", "nai-agent"} {
			if err := os.Link(filepath.Join(top, b), filepath.Join(older, b)); err != nil {
				t.Fatal(err)
			}
		}
		out, err := exec.Command(filepath.Join(top, "contrib/install/install.sh"), "--root", root, "--binary", filepath.Join(older, "nai")).CombinedOutput()
		if err != nil {
			t.Fatalf("install.sh --binary without nai-executor beside it: %v\n%s", err, out)
		}
		if _, err := os.Stat(filepath.Join(root, "usr/local/bin/nai-executor")); !os.IsNotExist(err) || !strings.Contains(string(out), "removed the old") {
			t.Errorf("install.sh without nai-executor left the old one (%v):\n%s", err, out)
		}
		unit, err := os.ReadFile(filepath.Join(root, "etc/systemd/system/nai-client.service"))
		if err != nil {
			t.Fatal(err)
		}
		want := "ExecStart=" + root + "/usr/local/bin/nai agent -config " + root + "/etc/nai/client.hcl\n"
		if !strings.Contains(string(unit), want) {
			t.Errorf("installed unit does not run the installed binary: want %q in\n%s", want, unit)
		}
	})

	t.Run("deb", func(t *testing.T) {
		dpkgDeb := testtool.Need(t, "dpkg-deb", "dpkg")
		out, err := exec.Command(dpkgDeb, "--contents", deb).CombinedOutput()
		if err != nil {
			t.Fatalf("dpkg-deb --contents: %v\n%s", err, out)
		}
		golden(t, "testdata/dist-deb.golden", debListing(string(out)))

		for field, want := range map[string]string{"Package": "nai", "Version": "1.2.3~test", "Architecture": "amd64"} {
			got, err := exec.Command(dpkgDeb, "--field", deb, field).Output()
			if err != nil || strings.TrimSpace(string(got)) != want {
				t.Errorf("%s: %q (%v), want %q", field, got, err, want)
			}
		}
		ctrl := t.TempDir()
		if out, err := exec.Command(dpkgDeb, "--control", deb, ctrl).CombinedOutput(); err != nil {
			t.Fatalf("dpkg-deb --control: %v\n%s", err, out)
		}
		conffiles, err := os.ReadFile(filepath.Join(ctrl, "conffiles"))
		if err != nil || string(conffiles) != "/etc/nai/client.hcl\n/etc/nai/server.hcl\n" {
			t.Errorf("conffiles: %q (%v): want both configs kept across upgrades", conffiles, err)
		}
		for _, s := range []string{"postinst", "prerm", "postrm"} {
			if st, err := os.Stat(filepath.Join(ctrl, s)); err != nil || st.Mode()&0o111 == 0 {
				t.Errorf("maintainer script %s missing or not executable: %v", s, err)
			}
		}
		files := t.TempDir()
		if out, err := exec.Command(dpkgDeb, "--extract", deb, files).CombinedOutput(); err != nil {
			t.Fatalf("dpkg-deb --extract: %v\n%s", err, out)
		}
		for _, b := range []struct{ name, build string }{{"nai", "build:  cli"}, {"nai-agent", "build:  full"}} {
			out, err := exec.Command(filepath.Join(files, "usr/bin", b.name), "version").CombinedOutput()
			if err != nil || !strings.HasPrefix(string(out), "nai "+testVersion+"\n") || !strings.Contains(string(out), "\n"+b.build) {
				t.Errorf("%s version in the .deb (want %q): %v\n%s", b.name, b.build, err, out)
			}
		}
		// nai-executor has no version command: -h shows it runs here.
		if out, err := exec.Command(filepath.Join(files, "usr/bin/nai-executor"), "-h").CombinedOutput(); err != nil || !strings.Contains(string(out), "usage: nai-executor") {
			t.Errorf("nai-executor -h in the .deb: %v\n%s", err, out)
		}
		for _, u := range []string{"nai-server.service", "nai-client.service"} {
			a, _ := os.ReadFile(filepath.Join("systemd", u))
			b, _ := os.ReadFile(filepath.Join(files, "usr/lib/systemd/system", u))
			if len(a) == 0 || string(a) != string(b) {
				t.Errorf("the .deb's %s differs from contrib/systemd/%s", u, u)
			}
		}
	})
}

// tarListing is "mode path" per entry, with the version folder named
// VERSION so that the golden file does not change with it.
func tarListing(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var out []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s is owned by %d:%d, want root (0:0)", h.Name, h.Uid, h.Gid)
		}
		name := strings.Replace(h.Name, testVersion, "VERSION", 1)
		out = append(out, fmt.Sprintf("%v %s", h.FileInfo().Mode(), name))
	}
	sort.Strings(out)
	return out
}

// debListing keeps mode, owner and path of dpkg-deb --contents lines.
func debListing(contents string) string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(contents), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		out = append(out, f[0]+" "+f[1]+" "+f[len(f)-1])
	}
	sort.Strings(out)
	return strings.Join(out, "\n") + "\n"
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (go test ./contrib -update creates it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}
