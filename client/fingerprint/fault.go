package fingerprint

import (
	"fmt"
	"strconv"
	"strings"
)

// Fault is one injected GPU fault, parsed from the text a dev hook (an HTTP
// route or a CLI flag of a dev agent) receives: "GPU:lost", "GPU:xid=N" or
// "GPU:ecc=N", with GPU the index, e.g. "2:xid=79".
type Fault struct {
	GPU   int
	Kind  string // "lost", "xid" or "ecc"
	Value uint64 // the XID, or the number of ECC errors
}

// ParseFault reads a fault as described on Fault.
func ParseFault(s string) (Fault, error) {
	const want = `expected "GPU:lost", "GPU:xid=N" or "GPU:ecc=N", e.g. "2:xid=79"`
	idx, rest, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return Fault{}, fmt.Errorf("gpu fault %q: %s", s, want)
	}
	gpu, err := strconv.Atoi(idx)
	if err != nil || gpu < 0 {
		return Fault{}, fmt.Errorf("gpu fault %q: gpu %q is not an index: %s", s, idx, want)
	}
	kind, val, hasVal := strings.Cut(rest, "=")
	f := Fault{GPU: gpu, Kind: kind}
	switch kind {
	case "lost":
		if hasVal {
			return Fault{}, fmt.Errorf("gpu fault %q: lost takes no value: %s", s, want)
		}
		return f, nil
	case "xid", "ecc":
		n, err := strconv.ParseUint(val, 10, 64)
		if !hasVal || err != nil || n == 0 {
			return Fault{}, fmt.Errorf("gpu fault %q: %s needs a positive number: %s", s, kind, want)
		}
		f.Value = n
		return f, nil
	}
	return Fault{}, fmt.Errorf("gpu fault %q: unknown kind %q: %s", s, kind, want)
}

// Inject applies the fault to the machine.
func (m *FakeMachine) Inject(f Fault) error {
	switch f.Kind {
	case "lost":
		return m.SetLost(f.GPU)
	case "xid":
		_, err := m.InjectXID(f.GPU, f.Value)
		return err
	case "ecc":
		return m.AddECCErrors(f.GPU, f.Value)
	}
	return fmt.Errorf("gpu fault: unknown kind %q", f.Kind)
}

func (f Fault) String() string {
	if f.Kind == "lost" {
		return fmt.Sprintf("%d:lost", f.GPU)
	}
	return fmt.Sprintf("%d:%s=%d", f.GPU, f.Kind, f.Value)
}
