// Package fleet connects a kiosk to its fleet over MQTT: signed envelopes, revocation lists
// and enrolled templates (retained snapshot + versioned deltas, anti-rollback, atomic apply),
// and the audit outbox that keeps records until the collector acknowledges them.
package fleet

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// Magic starts every signed fleet message.
const Magic = "edgeid-fleet/1\n"

// Kind says what an envelope carries.
type Kind uint8

// Envelope kinds.
const (
	KindRevocations Kind = 1
	KindTemplates   Kind = 2
	KindAuditAck    Kind = 3
)

func (k Kind) String() string {
	switch k {
	case KindRevocations:
		return "revocations"
	case KindTemplates:
		return "templates"
	case KindAuditAck:
		return "audit-ack"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// KeyID names a public key inside an envelope: the first 4 bytes of SHA-256 of the key.
type KeyID [4]byte

// KeyIDOf returns the id of pub.
func KeyIDOf(pub ed25519.PublicKey) KeyID {
	h := sha256.Sum256(pub)
	return KeyID(h[:4])
}

// Keyring is the set of fleet keys a kiosk accepts, by id.
type Keyring map[KeyID]ed25519.PublicKey

// NewKeyring builds a keyring from public keys.
func NewKeyring(keys ...ed25519.PublicKey) Keyring {
	r := make(Keyring, len(keys))
	for _, k := range keys {
		r[KeyIDOf(k)] = k
	}
	return r
}

const headerLen = len(Magic) + 1 + 4 + 4

// Errors an envelope can be refused with. Each refusal wraps one of them.
var (
	ErrOversize   = errors.New("message too large")
	ErrMalformed  = errors.New("malformed message")
	ErrUnknownKey = errors.New("signed by an unknown key")
	ErrSignature  = errors.New("bad signature")
	ErrKind       = errors.New("unexpected message kind")
	// ErrForeignChain: an audit ack names a record this kiosk does not have (beyond its head,
	// or with another hash): the collector holds another chain under this kiosk's id.
	ErrForeignChain = errors.New("ack for another chain of records")
)

// Seal signs body as an envelope of the given kind.
func Seal(kind Kind, body []byte, priv ed25519.PrivateKey) []byte {
	out := make([]byte, 0, headerLen+len(body)+ed25519.SignatureSize)
	out = append(out, Magic...)
	out = append(out, byte(kind))
	id := KeyIDOf(priv.Public().(ed25519.PublicKey))
	out = append(out, id[:]...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(body)))
	out = append(out, body...)
	return append(out, ed25519.Sign(priv, out)...)
}

// Unseal checks an envelope's size, framing and signature and returns its kind and body.
// The body aliases msg.
func Unseal(msg []byte, keys Keyring, maxSize int) (Kind, []byte, error) {
	if maxSize > 0 && len(msg) > maxSize {
		return 0, nil, fmt.Errorf("envelope: %d bytes, limit %d: %w", len(msg), maxSize, ErrOversize)
	}
	if len(msg) < headerLen+ed25519.SignatureSize {
		return 0, nil, fmt.Errorf("envelope: %d bytes, shorter than header and signature (%d): %w",
			len(msg), headerLen+ed25519.SignatureSize, ErrMalformed)
	}
	if string(msg[:len(Magic)]) != Magic {
		return 0, nil, fmt.Errorf("envelope: bad magic at offset 0: %w", ErrMalformed)
	}
	kind := Kind(msg[len(Magic)])
	var id KeyID
	copy(id[:], msg[len(Magic)+1:])
	n := binary.BigEndian.Uint32(msg[len(Magic)+5:])
	if uint64(n) != uint64(len(msg)-headerLen-ed25519.SignatureSize) {
		return 0, nil, fmt.Errorf("envelope: body length field says %d, message holds %d: %w",
			n, len(msg)-headerLen-ed25519.SignatureSize, ErrMalformed)
	}
	pub, ok := keys[id]
	if !ok {
		return 0, nil, fmt.Errorf("envelope: key id %x: %w", id[:], ErrUnknownKey)
	}
	signed := msg[:len(msg)-ed25519.SignatureSize]
	if !ed25519.Verify(pub, signed, msg[len(signed):]) {
		return 0, nil, fmt.Errorf("envelope: %s signed by key %x: %w", kind, id[:], ErrSignature)
	}
	return kind, msg[headerLen:len(signed)], nil
}
