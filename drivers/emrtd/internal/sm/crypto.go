package sm

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

// Cipher is a secure-messaging cipher suite of ICAO 9303-11.
type Cipher int

// Cipher suites.
const (
	TDES   Cipher = iota + 1 // 2-key 3DES-CBC, ISO 9797-1 MAC algorithm 3
	AES128                   // AES-CBC with IV = E(KSenc, SSC), AES-CMAC truncated to 8 bytes
	AES192
	AES256
)

func (c Cipher) String() string {
	switch c {
	case TDES:
		return "3DES"
	case AES128:
		return "AES-128"
	case AES192:
		return "AES-192"
	case AES256:
		return "AES-256"
	}
	return fmt.Sprintf("Cipher(%d)", int(c))
}

// KeyLen is the key length in bytes.
func (c Cipher) KeyLen() int {
	switch c {
	case TDES, AES128:
		return 16
	case AES192:
		return 24
	case AES256:
		return 32
	}
	return 0
}

// BlockSize is the cipher's block size, which is also the SSC length and padding unit.
func (c Cipher) BlockSize() int {
	if c == TDES {
		return 8
	}
	return 16
}

// KDF counters of ICAO 9303-11 §9.7.1.
const (
	CounterEnc uint32 = 1
	CounterMAC uint32 = 2
	CounterPI  uint32 = 3
)

// KDF derives a key for cipher c from the shared secret k: H(k || counter) with SHA-1 for
// 3DES and AES-128 and SHA-256 for AES-192/256, truncated to the key length. 3DES keys are
// parity adjusted.
func KDF(c Cipher, k []byte, counter uint32) []byte {
	in := binary.BigEndian.AppendUint32(append([]byte(nil), k...), counter)
	var h []byte
	switch c {
	case TDES, AES128:
		s := sha1.Sum(in)
		h = s[:]
	default:
		s := sha256.Sum256(in)
		h = s[:]
	}
	key := h[:c.KeyLen()]
	if c == TDES {
		AdjustParity(key)
	}
	return key
}

// AdjustParity sets each byte's low bit so the byte has odd parity (DES key convention).
func AdjustParity(k []byte) {
	for i, b := range k {
		b &^= 1
		ones := 0
		for v := b; v != 0; v >>= 1 {
			ones += int(v & 1)
		}
		if ones%2 == 0 {
			b |= 1
		}
		k[i] = b
	}
}

// Pad applies ISO/IEC 9797-1 padding method 2: 0x80 then zeros up to a multiple of bs.
func Pad(b []byte, bs int) []byte {
	out := make([]byte, len(b), len(b)+bs)
	copy(out, b)
	out = append(out, 0x80)
	for len(out)%bs != 0 {
		out = append(out, 0)
	}
	return out
}

// ErrPadding is returned when decrypted data does not end in method-2 padding.
var ErrPadding = errors.New("bad padding")

// Unpad removes method-2 padding.
func Unpad(b []byte) ([]byte, error) {
	for i := len(b) - 1; i >= 0; i-- {
		switch b[i] {
		case 0:
			continue
		case 0x80:
			return b[:i], nil
		}
		return nil, ErrPadding
	}
	return nil, ErrPadding
}

func tdesKey(k []byte) []byte {
	// 2-key 3DES: K1 || K2 || K1.
	if len(k) == 16 {
		return append(append([]byte(nil), k...), k[:8]...)
	}
	return k
}

func (c Cipher) block(key []byte) (cipher.Block, error) {
	if len(key) != c.KeyLen() {
		return nil, fmt.Errorf("sm: %s key of %d bytes, want %d", c, len(key), c.KeyLen())
	}
	if c == TDES {
		return des.NewTripleDESCipher(tdesKey(key))
	}
	return aes.NewCipher(key)
}

// Encrypt CBC-encrypts data (a multiple of the block size) with the given IV (nil: zeros).
func (c Cipher) Encrypt(key, iv, data []byte) ([]byte, error) {
	blk, err := c.block(key)
	if err != nil {
		return nil, err
	}
	if len(data)%blk.BlockSize() != 0 {
		return nil, fmt.Errorf("sm: %d bytes to encrypt are not whole blocks", len(data))
	}
	if iv == nil {
		iv = make([]byte, blk.BlockSize())
	}
	out := make([]byte, len(data))
	cipher.NewCBCEncrypter(blk, iv).CryptBlocks(out, data)
	return out, nil
}

// Decrypt CBC-decrypts data with the given IV (nil: zeros).
func (c Cipher) Decrypt(key, iv, data []byte) ([]byte, error) {
	blk, err := c.block(key)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 || len(data)%blk.BlockSize() != 0 {
		return nil, fmt.Errorf("sm: %d bytes of cryptogram are not whole blocks", len(data))
	}
	if iv == nil {
		iv = make([]byte, blk.BlockSize())
	}
	out := make([]byte, len(data))
	cipher.NewCBCDecrypter(blk, iv).CryptBlocks(out, data)
	return out, nil
}

// EncryptBlock encrypts one block in ECB mode (the AES SM IV is E(KSenc, SSC)).
func (c Cipher) EncryptBlock(key, in []byte) ([]byte, error) {
	blk, err := c.block(key)
	if err != nil {
		return nil, err
	}
	if len(in) != blk.BlockSize() {
		return nil, fmt.Errorf("sm: block of %d bytes, want %d", len(in), blk.BlockSize())
	}
	out := make([]byte, len(in))
	blk.Encrypt(out, in)
	return out, nil
}

// MAC computes the 8-byte secure-messaging MAC of data. For 3DES data must already be padded
// (ISO 9797-1 MAC algorithm 3 with DES); for AES it is AES-CMAC truncated to 8 bytes, over
// data as given.
func (c Cipher) MAC(key, data []byte) ([]byte, error) {
	if c == TDES {
		return retailMAC(key, data)
	}
	m, err := CMAC(c, key, data)
	if err != nil {
		return nil, err
	}
	return m[:8], nil
}

// retailMAC is ISO/IEC 9797-1 MAC algorithm 3 with DES (Ka, Kb) and no padding added.
func retailMAC(key, data []byte) ([]byte, error) {
	if len(key) != 16 {
		return nil, fmt.Errorf("sm: retail MAC key of %d bytes, want 16", len(key))
	}
	if len(data) == 0 || len(data)%8 != 0 {
		return nil, fmt.Errorf("sm: retail MAC input of %d bytes is not whole blocks", len(data))
	}
	ka, _ := des.NewCipher(key[:8])
	kb, _ := des.NewCipher(key[8:16])
	h := make([]byte, 8)
	for i := 0; i < len(data); i += 8 {
		subtle.XORBytes(h, h, data[i:i+8])
		ka.Encrypt(h, h)
	}
	kb.Decrypt(h, h)
	ka.Encrypt(h, h)
	return h, nil
}

// CMAC is AES-CMAC (NIST SP 800-38B, RFC 4493), full 16 bytes.
func CMAC(c Cipher, key, data []byte) ([]byte, error) {
	if c == TDES {
		return nil, errors.New("sm: CMAC is only defined here for AES")
	}
	blk, err := c.block(key)
	if err != nil {
		return nil, err
	}
	const bs = 16
	l := make([]byte, bs)
	blk.Encrypt(l, l)
	k1 := dbl(l)
	k2 := dbl(k1)
	n := (len(data) + bs - 1) / bs
	last := make([]byte, bs)
	if n == 0 || len(data)%bs != 0 {
		if n == 0 {
			n = 1
		}
		rest := data[(n-1)*bs:]
		copy(last, rest)
		last[len(rest)] = 0x80
		subtle.XORBytes(last, last, k2)
	} else {
		copy(last, data[(n-1)*bs:])
		subtle.XORBytes(last, last, k1)
	}
	x := make([]byte, bs)
	for i := 0; i < n-1; i++ {
		subtle.XORBytes(x, x, data[i*bs:(i+1)*bs])
		blk.Encrypt(x, x)
	}
	subtle.XORBytes(x, x, last)
	blk.Encrypt(x, x)
	return x, nil
}

func dbl(b []byte) []byte {
	out := make([]byte, len(b))
	var carry byte
	for i := len(b) - 1; i >= 0; i-- {
		out[i] = b[i]<<1 | carry
		carry = b[i] >> 7
	}
	if carry != 0 {
		out[len(out)-1] ^= 0x87
	}
	return out
}
