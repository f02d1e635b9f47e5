package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A checkpoint is a signed note (after C2SP signed-note and tlog-checkpoint):
//
//	edgeid-audit/<kiosk>
//	<tree size>
//	<base64 head hash>
//
//	— <kiosk> <base64(key hash[4] || Ed25519 signature)>
//
// The signature covers the three text lines including their newlines. The key hash is
// SHA-256(name || "\n" || 0x01 || public key)[:4], as in C2SP for Ed25519 keys.

// Checkpoint is a verified checkpoint.
type Checkpoint struct {
	Kiosk string
	Size  uint64
	Head  [sha256.Size]byte
}

// ErrCheckpoint wraps every checkpoint failure.
var ErrCheckpoint = errors.New("bad checkpoint")

func noteKeyHash(name string, pub ed25519.PublicKey) [4]byte {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', 0x01})
	h.Write(pub)
	var k [4]byte
	copy(k[:], h.Sum(nil))
	return k
}

// SignCheckpoint returns the signed note for (size, head) by kiosk.
func SignCheckpoint(kiosk string, size uint64, head []byte, priv ed25519.PrivateKey) string {
	text := fmt.Sprintf("edgeid-audit/%s\n%d\n%s\n", kiosk, size, base64.StdEncoding.EncodeToString(head))
	kh := noteKeyHash(kiosk, priv.Public().(ed25519.PublicKey))
	sig := append(kh[:], ed25519.Sign(priv, []byte(text))...)
	return text + "\n\u2014 " + kiosk + " " + base64.StdEncoding.EncodeToString(sig) + "\n"
}

// MaxNoteSize bounds a checkpoint note.
const MaxNoteSize = 1024

// VerifyCheckpoint parses note and checks its signature with pub.
func VerifyCheckpoint(note string, pub ed25519.PublicKey) (*Checkpoint, error) {
	if len(note) > MaxNoteSize {
		return nil, fmt.Errorf("checkpoint: %d bytes, limit %d: %w", len(note), MaxNoteSize, ErrCheckpoint)
	}
	text, sigs, ok := strings.Cut(note, "\n\n")
	if !ok {
		return nil, fmt.Errorf("checkpoint: no blank line before the signatures: %w", ErrCheckpoint)
	}
	text += "\n"
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) != 3 {
		return nil, fmt.Errorf("checkpoint: %d text lines, want 3: %w", len(lines), ErrCheckpoint)
	}
	kiosk, ok := strings.CutPrefix(lines[0], "edgeid-audit/")
	if !ok || kiosk == "" {
		return nil, fmt.Errorf("checkpoint: origin line %q: %w", lines[0], ErrCheckpoint)
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || strconv.FormatUint(size, 10) != lines[1] {
		return nil, fmt.Errorf("checkpoint: size line %q: %w", lines[1], ErrCheckpoint)
	}
	head, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(head) != sha256.Size {
		return nil, fmt.Errorf("checkpoint: head hash line %q: %w", lines[2], ErrCheckpoint)
	}
	want := noteKeyHash(kiosk, pub)
	for _, line := range strings.Split(strings.TrimSuffix(sigs, "\n"), "\n") {
		rest, ok := strings.CutPrefix(line, "\u2014 ")
		if !ok {
			return nil, fmt.Errorf("checkpoint: signature line %q does not start with an em dash: %w", line, ErrCheckpoint)
		}
		name, b64, ok := strings.Cut(rest, " ")
		if !ok {
			return nil, fmt.Errorf("checkpoint: signature line %q: %w", line, ErrCheckpoint)
		}
		sig, err := base64.StdEncoding.Strict().DecodeString(b64)
		if err != nil || len(sig) != 4+ed25519.SignatureSize {
			return nil, fmt.Errorf("checkpoint: signature of %q is not base64 of %d bytes: %w", name, 4+ed25519.SignatureSize, ErrCheckpoint)
		}
		if name != kiosk || [4]byte(sig[:4]) != want {
			continue // a co-signer we do not know
		}
		if !ed25519.Verify(pub, []byte(text), sig[4:]) {
			return nil, fmt.Errorf("checkpoint of %s at size %d: signature does not verify: %w", kiosk, size, ErrCheckpoint)
		}
		cp := &Checkpoint{Kiosk: kiosk, Size: size}
		copy(cp.Head[:], head)
		return cp, nil
	}
	return nil, fmt.Errorf("checkpoint of %s at size %d: no signature by the kiosk's key: %w", kiosk, size, ErrCheckpoint)
}
