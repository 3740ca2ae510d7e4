package gossipkey

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
)

// Size is the length of a gossip encryption key: AES-256.
const Size = 32

// Generate returns a new random gossip key, base64-encoded, as
// `nai operator keygen` prints it.
func Generate() (string, error) {
	b := make([]byte, Size)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random bytes for a gossip key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// Decode reads a key made by Generate. Serf also accepts 16 and 24
// byte keys; nai asks for 32 so every cluster uses AES-256.
func Decode(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("gossip key is not base64: %v (make one with `nai operator keygen`)", err)
	}
	if len(b) != Size {
		return nil, fmt.Errorf("gossip key is %d bytes: expected %d (make one with `nai operator keygen`)", len(b), Size)
	}
	return b, nil
}
