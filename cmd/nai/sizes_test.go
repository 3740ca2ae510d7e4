package main

import (
	"fmt"
	"testing"

	"github.com/nai-project/nai/jobspec"
)

// memory = "4G" in a job file, #SBATCH --mem=4G and -mem 4G are the same
// 4 GiB: every path reads sizes through one table.
func TestMemoryUnitsAgree(t *testing.T) {
	for _, tc := range []struct {
		size  string
		want  int64
		slurm bool // a size sbatch's --mem accepts too
	}{
		{"4G", 4 << 30, true}, {"4g", 4 << 30, true}, {"512M", 512 << 20, true}, {"1T", 1 << 40, true},
		{"65536K", 64 << 20, true}, {"4GiB", 4 << 30, false}, {"4GB", 4e9, false}, {"512MiB", 512 << 20, false},
	} {
		t.Run(tc.size, func(t *testing.T) {
			hcl := fmt.Sprintf("job \"m\" {\n  resources { memory = %q }\n  task { command = \"true\" }\n}\n", tc.size)
			res, err := jobspec.Parse("m.hcl", []byte(hcl), jobspec.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Jobs[0].Resources.MemoryBytes; got != tc.want {
				t.Errorf("HCL memory = %q: %d bytes, want %d", tc.size, got, tc.want)
			}
			if got, err := parseMemFlag(tc.size); err != nil || got != tc.want {
				t.Errorf("-mem %s: %d, %v; want %d", tc.size, got, err, tc.want)
			}
			if !tc.slurm {
				return
			}
			res, err = jobspec.ParseScript("m.sh", []byte("#SBATCH --mem="+tc.size+"\necho x\n"), jobspec.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Jobs[0].Resources.MemoryBytes; got != tc.want {
				t.Errorf("#SBATCH --mem=%s: %d bytes, want %d", tc.size, got, tc.want)
			}
		})
	}
}
