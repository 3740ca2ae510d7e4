package structs

import "testing"

func TestLogRange(t *testing.T) {
	for _, tc := range []struct {
		offset, limit, size int64
		start, n            int64
	}{
		{0, 0, 100, 0, -1},
		{10, 0, 100, 10, -1},
		{-30, 0, 100, 70, -1},
		{-300, 0, 100, 0, -1},
		{-30, 10, 100, 70, 10},
		{50, 20, 100, 50, 20},
		{200, 0, 100, 200, -1},
	} {
		start, n := LogRange(tc.offset, tc.limit, tc.size)
		if start != tc.start || n != tc.n {
			t.Errorf("LogRange(%d, %d, %d) = %d, %d; want %d, %d", tc.offset, tc.limit, tc.size, start, n, tc.start, tc.n)
		}
	}
}

// FuzzLogRange: whatever a request asks, the window starts inside or past
// the log, never before its first byte, and never reads a negative count.
func FuzzLogRange(f *testing.F) {
	for _, s := range [][3]int64{{0, 0, 0}, {-65536, 0, 100}, {5, 10, 3}, {-1 << 62, 1, 1 << 40}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, offset, limit, size int64) {
		if size < 0 {
			return // sizes come from stat
		}
		start, n := LogRange(offset, limit, size)
		if start < 0 {
			t.Fatalf("LogRange(%d, %d, %d) starts at %d", offset, limit, size, start)
		}
		if n < -1 || (limit > 0 && n != limit) {
			t.Fatalf("LogRange(%d, %d, %d) reads %d bytes", offset, limit, size, n)
		}
	})
}
