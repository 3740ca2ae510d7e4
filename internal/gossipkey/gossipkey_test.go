package gossipkey

import (
	"strings"
	"testing"
)

func TestKeys(t *testing.T) {
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Decode(k)
	if err != nil || len(b) != Size {
		t.Fatalf("Decode(Generate()) = %d bytes, %v", len(b), err)
	}
	for _, bad := range []string{"not base64!", "c2hvcnQ="} {
		if _, err := Decode(bad); err == nil || !strings.Contains(err.Error(), "nai operator keygen") {
			t.Errorf("Decode(%q) = %v, want an error with advice", bad, err)
		}
	}
}
