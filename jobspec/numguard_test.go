package jobspec

import (
	"strings"
	"testing"
	"time"
)

// Numbers too large to write as decimals are refused wherever they enter,
// quickly, instead of hanging the parser.
func TestHugeNumbers(t *testing.T) {
	job := func(vars, args string) string {
		return vars + "job \"j\" {\n  task {\n    command = \"echo\"\n    args = " + args + "\n  }\n}\n"
	}
	for _, tc := range []struct {
		name, src string
		vars      map[string]string
	}{
		{"literal", job("", `[1e99999999]`), nil},
		{"literal in a template", job("", `["${1e99999999}"]`), nil},
		{"default", job("variable \"x\" {\n  type = number\n  default = 1e99999999\n}\n", `[var.x]`), nil},
		{"-var", job("variable \"x\" {\n  type = number\n}\n", `[var.x]`), map[string]string{"x": "1e99999999"}},
		{"local", job("locals {\n  x = 1e19000 * 1e19000\n}\n", `[local.x]`), nil},
		{"pow", job("", `[pow(10, 99999999)]`), nil},
		{"tiny pow", job("", `[pow(0.9, 999999999)]`), nil},
		{"product in the job", job("", `[1e19000 * 1e19000]`), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := Parse("big.hcl", []byte(tc.src), Options{Vars: tc.vars, Now: testNow})
			if err == nil || !strings.Contains(err.Error(), "1e±19") {
				t.Errorf("err = %v, want a number too large", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
	if _, err := Parse("ok.hcl", []byte(job("", `[pow(10, 300), 1e300]`)), Options{Now: testNow}); err != nil {
		t.Errorf("1e300 is fine: %v", err)
	}
}
