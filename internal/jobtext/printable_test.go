package jobtext

import "testing"

func TestPrintable(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", ""},
		{"plain", "digits, 8x8 pixels", "digits, 8x8 pixels"},
		{"unicode kept", "Größe 日本語 ✓", "Größe 日本語 ✓"},
		{"newline and fake row", "line1\nFAKE  99  99  1TiB  admin", `line1\nFAKE  99  99  1TiB  admin`},
		{"carriage return", "ok\roverwritten", `ok\roverwritten`},
		{"tab splits no cell", "a\tb", `a\tb`},
		{"escape sequences", "\x1b[31mRED\x1b[0m", `\x1b[31mRED\x1b[0m`},
		{"other C0", "\x00\x07\x08", `\x00\a\b`},
		{"DEL", "a\x7fb", `a\x7fb`},
		{"C1 CSI and NEL", "a\u009b31mb\u0085", `a\u009b31mb\u0085`},
		{"bidi override", "abc\u202edef", `abc\u202edef`},
		{"bidi isolate", "\u2067x\u2069", `\u2067x\u2069`},
		{"invalid UTF-8", "a\xffb\xc3", `a\xffb\xc3`},
		{"backslash kept", `C:\data`, `C:\data`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Printable(tc.in); got != tc.want {
				t.Errorf("Printable(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// A plain cell comes back as it is, without a copy: the queue table
// passes every reason through Printable.
func TestPrintablePlainDoesNotAllocate(t *testing.T) {
	s := "Resources (est. start 15:04)"
	if n := testing.AllocsPerRun(100, func() { _ = Printable(s) }); n != 0 {
		t.Errorf("Printable of plain ASCII allocates %v times", n)
	}
}
