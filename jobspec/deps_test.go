package jobspec

import (
	"strings"
	"testing"

	"github.com/nai-project/nai/structs"
)

// A dependency names a job id (12) or an array member (12_3), the only
// ids the servers give; anything else is refused before it is sent, in a
// job file and in the API's JSON alike.
func TestDependencyIDs(t *testing.T) {
	hclJob := func(dep string) string {
		return "job \"x\" {\n  depends_on = [\"" + dep + "\"]\n  task { command = \"true\" }\n}\n"
	}
	jsonJob := func(id string) string {
		return `{"name": "x", "depends_on": [{"type": "afterok", "job_id": "` + id + `"}], "task": {"command": "true"}}`
	}
	for _, tc := range []struct {
		file, src string
		want      []structs.Dependency // nil: refused
	}{
		{"a.hcl", hclJob("afterok:12"), []structs.Dependency{{Type: structs.AfterOK, JobID: "12"}}},
		{"a.hcl", hclJob("afternotok:12_3"), []structs.Dependency{{Type: structs.AfterNotOK, JobID: "12_3"}}},
		{"a.hcl", hclJob("7"), []structs.Dependency{{Type: structs.AfterOK, JobID: "7"}}},
		{"a.hcl", hclJob("afterok:abc"), nil},
		{"a.hcl", hclJob("afterok:12_"), nil},
		{"a.hcl", hclJob("afterok:1.2"), nil},
		{"a.json", jsonJob("12_0"), []structs.Dependency{{Type: structs.AfterOK, JobID: "12_0"}}},
		{"a.json", jsonJob("abc"), nil},
	} {
		res, err := Parse(tc.file, []byte(tc.src), Options{})
		if tc.want == nil {
			if err == nil || !strings.Contains(err.Error(), "does not name a job") {
				t.Errorf("%s %q: error %v, want one saying it does not name a job", tc.file, tc.src, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %q: %v", tc.file, tc.src, err)
			continue
		}
		if got := res.Jobs[0].DependsOn; len(got) != 1 || got[0] != tc.want[0] {
			t.Errorf("%s %q: depends_on %+v, want %+v", tc.file, tc.src, got, tc.want)
		}
	}
}
