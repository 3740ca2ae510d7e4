package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

// A dataset pushed to one server of three is copied by the other two;
// once `nai operator blobs` shows 3/3, killing that server loses nothing:
// the others serve it. A copy corrupted on disk is detected by its digest
// when read, and fetched again from a replica.
func TestClusterBlobReplication(t *testing.T) {
	c := startCluster(t, 3, 0)
	var leader *clusterAgent
	waitFor(t, 30*time.Second, "a leader", func() bool { leader = c.leader(); return leader != nil })
	// A follower takes the upload, so replication, not the leader's copy,
	// is what keeps the data.
	a := c.others(leader)[0]
	b, cc := c.others(a)[0], c.others(a)[1]

	work := t.TempDir()
	data := filepath.Join(work, "digits")
	noise := make([]byte, 256<<10)
	if _, err := rand.Read(noise); err != nil {
		t.Fatal(err)
	}
	writeFile(t, data, "train.bin", string(noise))
	writeFile(t, data, "labels.csv", "y\n1\n7\n")
	if out := a.mustNai("dataset", "push", data, "-name", "digits"); !strings.Contains(out, "version 1") {
		t.Fatalf("push said %q", out)
	}
	ds, err := a.api().Artifact(context.Background(), structs.KindDataset, "digits")
	if err != nil {
		t.Fatal(err)
	}
	digest := ds.Versions[0].Digest

	blobOf := func(s *clusterAgent) *structs.Blob {
		out, _, code := s.nai("operator", "blobs", "-json")
		if code != 0 {
			return nil
		}
		var bs []*structs.Blob
		if err := json.Unmarshal([]byte(out), &bs); err != nil {
			t.Fatalf("operator blobs -json: %v\n%s", err, out)
		}
		for _, x := range bs {
			if x.Digest == digest {
				return x
			}
		}
		return nil
	}
	waitFor(t, 60*time.Second, "operator blobs shows the dataset's blob on 3 of 3 servers", func() bool {
		x := blobOf(a)
		return x != nil && len(x.Holders) == 3 && x.Wanted == 3
	})
	if out := a.mustNai("operator", "blobs"); !strings.Contains(out, "3/3") || !strings.Contains(out, "dataset digits:1") {
		t.Errorf("operator blobs:\n%s", out)
	}

	t.Logf("killing %s, which took the upload", a.name)
	a.kill()
	pull := func(s *clusterAgent, dir string) {
		t.Helper()
		waitFor(t, 60*time.Second, "a pull from "+s.name+" succeeds", func() bool {
			os.RemoveAll(dir)
			_, _, code := s.nai("dataset", "pull", "digits", "-o", dir)
			return code == 0
		})
		got, err := os.ReadFile(filepath.Join(dir, "train.bin"))
		if err != nil || !bytes.Equal(got, noise) {
			t.Fatalf("pulled from %s: %d bytes (%v), want the %d pushed", s.name, len(got), err, len(noise))
		}
	}
	pull(b, filepath.Join(work, "from-b"))
	pull(cc, filepath.Join(work, "from-c"))

	// Corrupt B's copy in place; a read from B notices and re-fetches.
	path := filepath.Join(b.dataDir, "server", "blobs", digest[:2], digest)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("B's copy of the blob: %v", err)
	}
	if _, err := f.WriteAt([]byte("corrupt!"), 1000); err != nil {
		t.Fatal(err)
	}
	f.Close()
	pull(b, filepath.Join(work, "from-b-again"))
	if !strings.Contains(b.logs.String(), "blob copy is corrupt") {
		t.Errorf("B did not report the corrupt copy; its log:\n%s", b.logs.String())
	}
	fixed, err := os.ReadFile(path)
	if err != nil || len(fixed) != int(ds.Versions[0].Size) {
		t.Errorf("B's copy after the re-fetch: %d bytes (%v), want %d", len(fixed), err, ds.Versions[0].Size)
	}
	waitFor(t, 30*time.Second, "B is recorded as holding the blob again", func() bool {
		x := blobOf(b)
		return x != nil && x.HeldBy(b.name)
	})
}
