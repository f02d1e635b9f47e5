package pa

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"

	"github.com/edgeid/edgeid/drivers/emrtd/asn1der"
	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
)

// ISO/IEC 9796-2 hash identifiers used in the two-byte trailer (…CC).
var iso9796HashIDs = map[byte]crypto.Hash{
	0x33: crypto.SHA1, 0x34: crypto.SHA256, 0x35: crypto.SHA512, 0x36: crypto.SHA384, 0x38: crypto.SHA224,
}

// VerifyActiveAuthentication checks a chip's INTERNAL AUTHENTICATE response to challenge
// with its DG15 key (ICAO 9303-11 section 6.1). RSA keys use ISO/IEC 9796-2 digital
// signature scheme 1 (partial message recovery; the challenge is the non-recoverable part).
// EC keys use plain ECDSA; info (from DG14) names the signature algorithm, which then is
// mandatory per ICAO 9303.
func VerifyActiveAuthentication(pub any, challenge, response []byte, info *lds.ActiveAuthenticationInfo) error {
	if len(challenge) == 0 {
		return errors.New("active authentication: empty challenge")
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return verifyISO9796(k, challenge, response)
	case *pki.ECPublicKey:
		if info == nil || info.SignatureAlgorithm == nil {
			return errors.New("active authentication: ECDSA key but DG14 names no ActiveAuthenticationInfo signature algorithm")
		}
		s, err := pki.ResolveSig(asn1der.AlgorithmIdentifier{OID: info.SignatureAlgorithm}, 0)
		if err != nil {
			return fmt.Errorf("active authentication: %w", err)
		}
		if err := pki.VerifySig(k, s.ForChipSignature(response), challenge, response); err != nil {
			return fmt.Errorf("active authentication: %w", err)
		}
		return nil
	}
	return fmt.Errorf("active authentication: key type %T not supported", pub)
}

func verifyISO9796(k *rsa.PublicKey, m2, sig []byte) error {
	size := (k.N.BitLen() + 7) / 8
	if len(sig) != size {
		return fmt.Errorf("active authentication: response of %d bytes, want %d for RSA %d: %w", len(sig), size, k.N.BitLen(), pki.ErrSignature)
	}
	s := new(big.Int).SetBytes(sig)
	if s.Cmp(k.N) >= 0 {
		return fmt.Errorf("active authentication: response not below the modulus: %w", pki.ErrSignature)
	}
	m := new(big.Int).Exp(s, big.NewInt(int64(k.E)), k.N)
	// ISO/IEC 9796-2 allows the signer to use min(s, n-s): if the recovered value does not
	// end in the nibble C, the other representative is n - m.
	if !(m.Bit(0) == 0 && m.Bit(1) == 0 && m.Bit(2) == 1 && m.Bit(3) == 1) {
		m.Sub(k.N, m)
	}
	f := m.FillBytes(make([]byte, size))
	// The representative has the modulus's bit length; with a byte-aligned modulus its
	// first byte carries the header 01 (0x6A = 01 1 01010: partial recovery, padding 1010...).
	var hash crypto.Hash
	var trailer int
	switch {
	case f[len(f)-1] == 0xBC:
		hash, trailer = crypto.SHA1, 1
	case f[len(f)-1] == 0xCC && len(f) >= 2:
		h, ok := iso9796HashIDs[f[len(f)-2]]
		if !ok {
			return fmt.Errorf("active authentication: unknown hash identifier %#x in the trailer: %w", f[len(f)-2], pki.ErrSignature)
		}
		hash, trailer = h, 2
	default:
		return fmt.Errorf("active authentication: recovered message ends in %#x, not a 9796-2 trailer: %w", f[len(f)-1], pki.ErrSignature)
	}
	// Skip leading zero bytes when the modulus is not a whole number of bytes.
	for len(f) > 0 && f[0] == 0 {
		f = f[1:]
	}
	if len(f) < 1+hash.Size()+trailer {
		return fmt.Errorf("active authentication: recovered message too short: %w", pki.ErrSignature)
	}
	if f[0]&0xF0 != 0x60 && f[0]&0xF0 != 0x40 {
		return fmt.Errorf("active authentication: header %#x is not 01xx: %w", f[0], pki.ErrSignature)
	}
	if f[0]&0x20 == 0 {
		return fmt.Errorf("active authentication: total recovery header %#x: the challenge would not be covered: %w", f[0], pki.ErrSignature)
	}
	// Padding: after the header bits, zero or more nibbles... ICAO chips use the single
	// header byte 0x6A; accept padding bytes 0xBB then 0xBA as ISO/IEC 9796-2 defines.
	start := 1
	if f[0] != 0x6A {
		i := 1
		for i < len(f) && f[i] == 0xBB {
			i++
		}
		if i >= len(f) || f[i] != 0xBA {
			return fmt.Errorf("active authentication: bad padding: %w", pki.ErrSignature)
		}
		start = i + 1
	}
	end := len(f) - trailer - hash.Size()
	if end < start {
		return fmt.Errorf("active authentication: recovered message too short: %w", pki.ErrSignature)
	}
	m1 := f[start:end]
	d := f[end : len(f)-trailer]
	h := hash.New()
	h.Write(m1)
	h.Write(m2)
	if !bytes.Equal(h.Sum(nil), d) {
		return fmt.Errorf("active authentication: %s of the recovered part and the challenge does not match: %w", hash, pki.ErrSignature)
	}
	return nil
}

// AddActiveAuthentication verifies a chip's Active Authentication response (to challenge)
// against the document's DG15 key, with DG14's ActiveAuthenticationInfo for EC keys, and
// adds the outcome to r as the "active-auth" check. DG15 (and DG14 when used) must have
// passed their hash checks in r: a key the SOD does not vouch for proves nothing.
// A nil response means Active Authentication was not run.
func (r *Report) AddActiveAuthentication(files lds.Files, challenge, response []byte) {
	dg15, ok := files["DG15"]
	if !ok {
		r.add(CheckActiveAuth, StatusNotApplicable, "no DG15: the chip offers no Active Authentication")
		return
	}
	if response == nil {
		r.add(CheckActiveAuth, StatusNotApplicable, "DG15 present but Active Authentication was not run")
		return
	}
	if c, _ := r.Get(CheckDGHashPrefix + "DG15"); c.Status != StatusPass {
		r.add(CheckActiveAuth, StatusFail, "DG15 is not authenticated by the SOD (%s), so its key cannot be used", c.Status)
		return
	}
	pub, err := lds.ParseDG15(dg15)
	if err != nil {
		r.add(CheckActiveAuth, StatusFail, "%v", err)
		return
	}
	var info *lds.ActiveAuthenticationInfo
	if _, isEC := pub.(*pki.ECPublicKey); isEC {
		dg14, ok := files["DG14"]
		if !ok {
			r.add(CheckActiveAuth, StatusFail, "EC Active Authentication key but no DG14 naming the signature algorithm")
			return
		}
		if c, _ := r.Get(CheckDGHashPrefix + "DG14"); c.Status != StatusPass {
			r.add(CheckActiveAuth, StatusFail, "DG14 is not authenticated by the SOD (%s)", c.Status)
			return
		}
		si, err := lds.ParseSecurityInfos(dg14)
		if err != nil {
			r.add(CheckActiveAuth, StatusFail, "%v", err)
			return
		}
		if len(si.ActiveAuth) > 0 {
			info = &si.ActiveAuth[0]
		}
	}
	if err := VerifyActiveAuthentication(pub, challenge, response, info); err != nil {
		r.add(CheckActiveAuth, StatusFail, "%v: the chip may be a clone", err)
		return
	}
	r.add(CheckActiveAuth, StatusPass, "the chip proved it holds the DG15 %s private key", pki.KeyDescription(pub))
}
