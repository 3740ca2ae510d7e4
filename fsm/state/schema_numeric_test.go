package state

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
	"testing"
)

// nibbles is n as its 8 big-endian bytes split into 16 nibbles, the key
// appendIDKey must give, written another way.
func nibbles(key []byte, n uint64) []byte {
	for _, b := range binary.BigEndian.AppendUint64(nil, n) {
		key = append(key, b>>4, b&0xf)
	}
	return key
}

// encodeNumericIDSplit is encodeNumericID as it was written first (with
// strings.Split), the reference the one-allocation version must match.
func encodeNumericIDSplit(id string) ([]byte, bool) {
	if id == "" {
		return nil, false
	}
	parts := strings.Split(id, ".")
	key := make([]byte, 0, 8*len(parts))
	for _, p := range parts {
		if p == "" || (len(p) > 1 && p[0] == '0') {
			return nil, false
		}
		for _, c := range p {
			if c < '0' || c > '9' {
				return nil, false
			}
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return nil, false
		}
		key = nibbles(key, n)
	}
	return key, true
}

func TestEncodeNumericID(t *testing.T) {
	u64 := func(ns ...uint64) []byte {
		var b []byte
		for _, n := range ns {
			b = nibbles(b, n)
		}
		return b
	}
	for _, tc := range []struct {
		id   string
		want []byte // nil: refused
	}{
		{"0", u64(0)},
		{"7", u64(7)},
		{"12", u64(12)},
		{"12.3", u64(12, 3)},
		{"1.0.2", u64(1, 0, 2)},
		{"18446744073709551615", u64(1<<64 - 1)},
		{"", nil},
		{".", nil},
		{"12.", nil},
		{".3", nil},
		{"1..2", nil},
		{"01", nil},
		{"1.02", nil},
		{"00", nil},
		{"-1", nil},
		{"+1", nil},
		{"1a", nil},
		{"１", nil}, // a full-width digit
		{"18446744073709551616", nil},
		{" 1", nil},
	} {
		got, ok := encodeNumericID(tc.id)
		if ok != (tc.want != nil) || !bytes.Equal(got, tc.want) {
			t.Errorf("encodeNumericID(%q) = %x, %v; want %x", tc.id, got, ok, tc.want)
		}
		if ok != validNumericID(tc.id) {
			t.Errorf("validNumericID(%q) = %v, want %v", tc.id, !ok, ok)
		}
	}
	if n := testing.AllocsPerRun(100, func() { encodeNumericID("12345.6") }); n > 1 {
		t.Errorf("encodeNumericID allocates %v times, want 1 (the key)", n)
	}
}

// FuzzIDKeyOrder: keys sort as their numbers do, and idKeyValue reads
// the number back.
func FuzzIDKeyOrder(f *testing.F) {
	f.Add(uint64(0), uint64(1))
	f.Add(uint64(255), uint64(256))
	f.Add(uint64(1<<64-1), uint64(1<<63))
	f.Fuzz(func(t *testing.T, a, b uint64) {
		ka, kb := appendIDKey(nil, a), appendIDKey(nil, b)
		if len(ka) != idKeyLen {
			t.Fatalf("key of %d is %d bytes, want %d", a, len(ka), idKeyLen)
		}
		want := 0
		if a < b {
			want = -1
		} else if a > b {
			want = 1
		}
		if got := bytes.Compare(ka, kb); got != want {
			t.Fatalf("keys of %d and %d compare %d, want %d", a, b, got, want)
		}
		if got := idKeyValue(ka); got != a {
			t.Fatalf("idKeyValue(key of %d) = %d", a, got)
		}
	})
}

// FuzzEncodeNumericID holds the one-allocation encoder to the first one.
func FuzzEncodeNumericID(f *testing.F) {
	for _, s := range []string{"0", "12.3", "1..2", "01", "18446744073709551616", "1.", "９", "1.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		got, ok := encodeNumericID(id)
		want, wantOK := encodeNumericIDSplit(id)
		if ok != wantOK || !bytes.Equal(got, want) {
			t.Fatalf("encodeNumericID(%q) = %x, %v; the reference says %x, %v", id, got, ok, want, wantOK)
		}
	})
}
