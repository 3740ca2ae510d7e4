package fingerprint

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseFault(t *testing.T) {
	tests := []struct {
		in      string
		want    Fault
		wantErr string
	}{
		{in: "2:xid=79", want: Fault{GPU: 2, Kind: "xid", Value: 79}},
		{in: " 0:lost ", want: Fault{GPU: 0, Kind: "lost"}},
		{in: "1:ecc=3", want: Fault{GPU: 1, Kind: "ecc", Value: 3}},
		{in: "xid=79", wantErr: `expected "GPU:lost"`},
		{in: "-1:lost", wantErr: "is not an index"},
		{in: "a:lost", wantErr: "is not an index"},
		{in: "1:lost=2", wantErr: "lost takes no value"},
		{in: "1:xid", wantErr: "xid needs a positive number"},
		{in: "1:ecc=0", wantErr: "ecc needs a positive number"},
		{in: "1:melt", wantErr: `unknown kind "melt"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseFault(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseFault(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFault(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseFault(%q) (-want +got):\n%s", tt.in, diff)
			}
			if again, err := ParseFault(got.String()); err != nil || again != got {
				t.Errorf("round trip of %v = %v, %v", got, again, err)
			}
		})
	}
}
