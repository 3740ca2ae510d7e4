package exepages

import (
	"os"
	"strings"
	"testing"
)

func TestParseSmaps(t *testing.T) {
	smaps, err := os.ReadFile("testdata/smaps.txt")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		exe  string
		want []Mapping
	}{
		{
			// The header, text and read-only data of the binary; not its
			// relocated read-only page (private copies), nor its data.
			name: "the agent's binary",
			exe:  "/usr/local/bin/nai-agent",
			want: []Mapping{
				{Start: 0x400000, End: 0x411000, Resident: 68 << 10},
				{Start: 0x411000, End: 0x1086000, Resident: 9876 << 10},
				{Start: 0x1086000, End: 0x1e72000, Resident: 12612 << 10},
			},
		},
		{
			name: "a path with a space",
			exe:  "/opt/nai old/nai-agent",
			want: []Mapping{{Start: 0x7f3a1d000000, End: 0x7f3a1d010000, Resident: 64 << 10}},
		},
		{name: "a file not mapped", exe: "/usr/bin/other"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSmaps(smaps, tc.exe)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d mappings %+v, want %+v", len(got), got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("mapping %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestParseSmapsBadHeader(t *testing.T) {
	for _, header := range []string{
		"zz-01086000 r-xp 00011000 fe:00 1 /bin/x",
		"01086000 r-xp 00011000 fe:00 1 /bin/x",
		"01086000-00411000 r-xp 00011000 fe:00 1 /bin/x",
	} {
		_, err := ParseSmaps([]byte(header+"\nRss: 4 kB\n"), "/bin/x")
		if err == nil || !strings.Contains(err.Error(), "expected start-end in hex") {
			t.Errorf("%q: got %v, want an error naming the expected form", header, err)
		}
	}
	// A malformed header of another file is not this package's concern.
	got, err := ParseSmaps([]byte("zz r-xp 0 fe:00 1 /bin/y\nRss: 4 kB\n"), "/bin/x")
	if err != nil || len(got) != 0 {
		t.Errorf("another file's bad header: got %v, %v; want nothing and no error", got, err)
	}
}

func FuzzParseSmaps(f *testing.F) {
	if b, err := os.ReadFile("testdata/smaps.txt"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("00400000-00411000 r--p 0 fe:00 1 /bin/x\nRss: 9999999999999999999 kB\nAnonymous: -1 kB\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		maps, err := ParseSmaps(b, "/bin/x")
		if err != nil {
			return
		}
		for _, m := range maps {
			if m.End <= m.Start {
				t.Fatalf("mapping %+v ends before it starts", m)
			}
		}
	})
}

func TestResultFreed(t *testing.T) {
	if got := (Result{Before: 10, After: 4}).Freed(); got != 6 {
		t.Errorf("Freed = %d, want 6", got)
	}
	if got := (Result{Before: 4, After: 10}).Freed(); got != 0 {
		t.Errorf("Freed when more is resident after = %d, want 0", got)
	}
}
