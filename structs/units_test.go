package structs

import "testing"

// The table of size units, the one every path reads: one-letter units are
// binary as in Slurm, units that spell out B are decimal, i means binary.
func TestParseSizeUnits(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"1024", 1024}, {"1B", 1},
		{"4K", 4 << 10}, {"4k", 4 << 10}, {"4KB", 4000}, {"4kB", 4000}, {"4KiB", 4 << 10}, {"4Ki", 4 << 10},
		{"4M", 4 << 20}, {"4MB", 4e6}, {"4MiB", 4 << 20},
		{"4G", 4 << 30}, {"4g", 4 << 30}, {"4GB", 4e9}, {"4gb", 4e9}, {"4GiB", 4 << 30}, {"4Gi", 4 << 30},
		{"1.5G", 3 << 29}, {"2T", 2 << 40}, {"2TB", 2e12}, {"2TiB", 2 << 40},
	} {
		got, err := ParseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}
