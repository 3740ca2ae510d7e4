package suggest

import "testing"

func TestClosest(t *testing.T) {
	opts := []string{"status", "stop", "toy-model", "logs", "outputs", "a"}
	for _, tc := range []struct{ given, want string }{
		{"stauts", "status"},
		{"toy-modl", "toy-model"},
		{"toy-modle", "toy-model"},
		{"TOY-MODEL", "toy-model"},
		{"stat", "status"},
		{"lgs", "logs"},
		{"zebra", ""},
		{"b", "a"},
		{"xy", ""},
		{"status", ""}, // itself is no suggestion
		{"", ""},
	} {
		if got := Closest(tc.given, opts); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.given, got, tc.want)
		}
	}
}
