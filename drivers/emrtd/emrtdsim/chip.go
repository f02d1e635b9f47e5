// Package emrtdsim holds test doubles for drivers/emrtd: a virtual chip that answers like
// an eMRTD (BAC, PACE generic mapping, secure messaging, file serving, Active
// Authentication) and implements emrtd.Transceiver.
package emrtdsim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/edgeid/edgeid/drivers/apdu"
	"github.com/edgeid/edgeid/drivers/emrtd"
	"github.com/edgeid/edgeid/drivers/emrtd/internal/ecc"
	"github.com/edgeid/edgeid/drivers/emrtd/internal/sm"
	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
)

// PACEOffer is one PACE protocol the chip offers in EF.CardAccess.
type PACEOffer struct {
	// Mapping is "GM" (generic mapping, the default) or "CAM" (chip authentication
	// mapping, AES only; needs Opts.CAKey on the same curve).
	Mapping string
	Cipher  string // "3DES", "AES-128", "AES-192" or "AES-256"
	ParamID int    // standardized ECDH domain parameters: 12 P-256, 13 brainpoolP256r1, 15 P-384, 16 brainpoolP384r1, 17 brainpoolP512r1, 18 P-521 (8..18)
}

// Opts configures a Chip.
type Opts struct {
	// Files are served by the chip. EF.CardAccess is generated from PACE when PACE is set.
	Files lds.Files
	// MRZInformation is the document number, date of birth and date of expiry with check
	// digits (emrtd.AccessKey.MRZInformation): the BAC key and the PACE MRZ password.
	MRZInformation string
	// CAN is the card access number for PACE; empty: no CAN.
	CAN string
	// BAC enables Basic Access Control.
	BAC bool
	// PACE lists the PACE protocols offered (generic mapping over ECDH); empty: no PACE.
	PACE []PACEOffer
	// MaxLe caps the data bytes of one READ BINARY response (default 256; up to 65536).
	MaxLe int
	// RefuseLeAbove makes READ BINARY with a larger Ne fail with 6700 (0: never).
	RefuseLeAbove int
	// PlainErrors answers a refused length (6700) in the clear and ends secure messaging,
	// as some chips do, instead of a protected 6700.
	PlainErrors bool
	// ExtendedLength accepts extended-length APDUs; without it they get 6700.
	ExtendedLength bool
	// AAKey answers INTERNAL AUTHENTICATE: *rsa.PrivateKey (ISO/IEC 9796-2 scheme 1, SHA-1)
	// or *ecdsa.PrivateKey (plain r||s over SHA-256 of the challenge). Nil: no AA.
	AAKey crypto.Signer
	// CAKey is the Chip Authentication private key, EC in PKCS#8 or SEC 1 DER, matching the
	// ECDH public key of Files["DG14"] or Files["EF.CardSecurity"]; the protocol comes from
	// their ChipAuthenticationInfo. It also serves PACE-CAM. Nil: no CA.
	CAKey []byte
	// Rand is the chip's randomness; nil means crypto/rand.
	Rand io.Reader
}

// DefaultOpts returns a chip with BAC only, short APDUs and MaxLe 256.
func DefaultOpts() Opts {
	return Opts{BAC: true, MaxLe: 256}
}

// Stats counts the traffic the chip saw.
type Stats struct {
	APDUs         int
	BytesReceived int64 // command bytes
	BytesSent     int64 // response bytes
	Reads         int   // READ BINARY commands
}

// Chip is a virtual eMRTD chip. It is safe for concurrent use, though a real link carries
// one command at a time.
type Chip struct {
	opts     Opts
	cardAcc  []byte
	mu       sync.Mutex
	st       state
	stats    Stats
	rand     io.Reader
	fileByID map[uint16]string
	ca       *caKey
}

// caKey is the chip's Chip Authentication key and protocol.
type caKey struct {
	curve  *ecc.Curve
	d      *big.Int
	oid    asn1.ObjectIdentifier
	cipher sm.Cipher
}

type state struct {
	appSelected bool
	current     string
	sess        *sm.Session
	rndIC       []byte // BAC challenge

	pace     *paceState
	paceStep int

	caSetAT  bool        // MSE:Set AT for Chip Authentication received
	nextSess *sm.Session // keys that take over after the current response
}

type paceState struct {
	offer   PACEOffer
	oid     asn1.ObjectIdentifier
	cipher  sm.Cipher
	curve   *ecc.Curve
	secret  []byte // MRZ hash or CAN
	s       []byte
	mapped  *ecc.Curve
	skEph   *big.Int
	pkEph   []byte
	pkIFD   []byte
	ksenc   []byte
	ksmac   []byte
	skMap   *big.Int
	pkMapIC ecc.Point
}

// New returns a chip serving opts.Files.
func New(opts *Opts) (*Chip, error) {
	o := DefaultOpts()
	if opts != nil {
		o = *opts
	}
	if o.MaxLe == 0 {
		o.MaxLe = 256
	}
	if o.MaxLe < 1 || o.MaxLe > 65536 || (!o.ExtendedLength && o.MaxLe > 256) {
		return nil, fmt.Errorf("emrtdsim: MaxLe %d out of range (1..256, or 65536 with ExtendedLength)", o.MaxLe)
	}
	if o.BAC && len(o.MRZInformation) < 24 {
		return nil, errors.New("emrtdsim: BAC needs MRZInformation")
	}
	if len(o.PACE) > 0 && o.MRZInformation == "" && o.CAN == "" {
		return nil, errors.New("emrtdsim: PACE needs MRZInformation or CAN")
	}
	c := &Chip{opts: o, rand: o.Rand, fileByID: map[uint16]string{}}
	if c.rand == nil {
		c.rand = rand.Reader
	}
	if o.Files == nil {
		c.opts.Files = lds.Files{}
	}
	for name := range c.opts.Files {
		if fid, ok := appFileID(name); ok {
			c.fileByID[fid] = name
		}
	}
	if o.CAKey != nil {
		if err := c.loadCA(); err != nil {
			return nil, err
		}
	}
	if len(o.PACE) > 0 {
		var infos [][]byte
		for _, p := range o.PACE {
			oid, _, err := paceOID(p)
			if err != nil {
				return nil, err
			}
			pc := ecc.ByStandardizedID(p.ParamID)
			if pc == nil {
				return nil, fmt.Errorf("emrtdsim: PACE parameter ID %d is not an ECDH set", p.ParamID)
			}
			if p.Mapping == "CAM" && (c.ca == nil || !c.ca.curve.Same(pc)) {
				return nil, fmt.Errorf("emrtdsim: PACE-CAM on parameter ID %d needs a CAKey on %s", p.ParamID, pc.Name)
			}
			der, _ := asn1.Marshal(struct {
				OID     asn1.ObjectIdentifier
				Version int
				Param   int
			}{oid, 2, p.ParamID})
			infos = append(infos, der)
		}
		set := bytes.Join(infos, nil)
		c.cardAcc, _ = asn1.Marshal(asn1.RawValue{Class: 0, Tag: 17, IsCompound: true, Bytes: set})
	} else if ca, ok := c.opts.Files["EF.CardAccess"]; ok {
		c.cardAcc = ca
	}
	return c, nil
}

// String describes the chip without secrets.
func (c *Chip) String() string {
	var names []string
	for n := range c.opts.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	return fmt.Sprintf("virtual eMRTD (BAC %v, %d PACE offers, files %s)", c.opts.BAC, len(c.opts.PACE), strings.Join(names, " "))
}

// Halt drops any session, as if the card left the field.
func (c *Chip) Halt() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.st = state{}
	return nil
}

// Stats returns the traffic counters.
func (c *Chip) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// ResetStats zeroes the traffic counters.
func (c *Chip) ResetStats() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats = Stats{}
}

var _ emrtd.Transceiver = (*Chip)(nil)

func paceOID(p PACEOffer) (asn1.ObjectIdentifier, sm.Cipher, error) {
	cph := map[string]sm.Cipher{"3DES": sm.TDES, "AES-128": sm.AES128, "AES-192": sm.AES192, "AES-256": sm.AES256}[p.Cipher]
	if cph == 0 {
		return nil, 0, fmt.Errorf("emrtdsim: unknown PACE cipher %q", p.Cipher)
	}
	mapping := 2
	switch p.Mapping {
	case "", "GM":
	case "CAM":
		if cph == sm.TDES {
			return nil, 0, errors.New("emrtdsim: PACE-CAM needs AES")
		}
		mapping = 6
	default:
		return nil, 0, fmt.Errorf("emrtdsim: unknown PACE mapping %q (want GM or CAM)", p.Mapping)
	}
	return asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, mapping, int(cph)}, cph, nil
}

func appFileID(name string) (uint16, bool) {
	switch name {
	case "EF.COM":
		return 0x011E, true
	case "EF.SOD":
		return 0x011D, true
	}
	if n, ok := strings.CutPrefix(name, "DG"); ok {
		if i, err := strconv.Atoi(n); err == nil && i >= 1 && i <= 16 {
			return 0x0100 + uint16(i), true
		}
	}
	return 0, false
}

func sw(code uint16) apdu.Response { return apdu.Response{SW: code} }

// Transceive handles one command APDU.
func (c *Chip) Transceive(ctx context.Context, cmd []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.APDUs++
	c.stats.BytesReceived += int64(len(cmd))
	out := c.handle(cmd)
	c.stats.BytesSent += int64(len(out))
	return out, nil
}

func (c *Chip) handle(raw []byte) []byte {
	if len(raw) > 5 && raw[4] == 0 && !c.opts.ExtendedLength {
		c.st = state{} // a chip that cannot parse the APDU drops secure messaging
		return sw(0x6700).Bytes()
	}
	cmd, err := apdu.ParseCommand(raw)
	if err != nil {
		return sw(0x6700).Bytes()
	}
	protected := cmd.CLA&0x0C == 0x0C
	if protected {
		if c.st.sess == nil {
			return sw(0x6988).Bytes()
		}
		cmd, err = c.st.sess.UnprotectCommand(raw)
		if err != nil {
			c.st = state{} // SM error: the session ends (ICAO 9303-11 §9.8.x)
			return sw(0x6988).Bytes()
		}
	} else if c.st.sess != nil {
		c.st = state{}
		return sw(0x6987).Bytes()
	}
	r := c.dispatch(cmd)
	if protected && c.opts.PlainErrors && r.SW == 0x6700 {
		c.st = state{}
		return r.Bytes()
	}
	if !protected || c.st.sess == nil {
		return r.Bytes()
	}
	out, err := c.st.sess.ProtectResponse(r, cmd.INS&1 == 1)
	if err != nil {
		return sw(0x6F00).Bytes()
	}
	if c.st.nextSess != nil {
		c.st.sess, c.st.nextSess = c.st.nextSess, nil
	}
	return out
}

func (c *Chip) dispatch(cmd apdu.Command) apdu.Response {
	if cmd.CLA&^0x10 != 0 {
		return sw(0x6E00)
	}
	switch cmd.INS {
	case 0xA4:
		return c.selectFile(cmd)
	case 0xB0, 0xB1:
		return c.readBinary(cmd)
	case 0x84:
		return c.getChallenge(cmd)
	case 0x82:
		return c.externalAuthenticate(cmd)
	case 0x22:
		if cmd.P1 == 0x41 {
			return c.caMSE(cmd)
		}
		return c.mseSetAT(cmd)
	case 0x86:
		if c.st.caSetAT {
			return c.caGeneralAuthenticate(cmd)
		}
		return c.generalAuthenticate(cmd)
	case 0x88:
		return c.internalAuthenticate(cmd)
	}
	return sw(0x6D00)
}

func (c *Chip) selectFile(cmd apdu.Command) apdu.Response {
	switch cmd.P1 {
	case 0x04:
		if bytes.Equal(cmd.Data, []byte{0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01}) {
			c.st.appSelected, c.st.current = true, ""
			return sw(0x9000)
		}
		return sw(0x6A82)
	case 0x02:
		if len(cmd.Data) != 2 {
			return sw(0x6A80)
		}
		fid := uint16(cmd.Data[0])<<8 | uint16(cmd.Data[1])
		if !c.st.appSelected {
			if fid == 0x011C && c.cardAcc != nil {
				c.st.current = "EF.CardAccess"
				return sw(0x9000)
			}
			if _, ok := c.opts.Files["EF.CardSecurity"]; ok && fid == 0x011D {
				if c.st.sess == nil {
					return sw(0x6982) // readable after PACE only
				}
				c.st.current = "EF.CardSecurity"
				return sw(0x9000)
			}
			return sw(0x6A82)
		}
		if c.st.sess == nil {
			return sw(0x6982)
		}
		name, ok := c.fileByID[fid]
		if !ok {
			return sw(0x6A82)
		}
		if name == "DG3" || name == "DG4" {
			return sw(0x6982) // EAC-protected; no terminal authentication here
		}
		c.st.current = name
		return sw(0x9000)
	}
	return sw(0x6A86)
}

func (c *Chip) currentData() ([]byte, bool) {
	if c.st.current == "EF.CardAccess" {
		return c.cardAcc, true
	}
	d, ok := c.opts.Files[c.st.current]
	return d, ok
}

func (c *Chip) readBinary(cmd apdu.Command) apdu.Response {
	c.stats.Reads++
	if c.st.current == "" {
		return sw(0x6986) // no current EF
	}
	if c.st.current != "EF.CardAccess" && c.st.sess == nil {
		return sw(0x6982)
	}
	data, _ := c.currentData()
	ne := cmd.Ne
	if ne == 0 {
		return sw(0x6700)
	}
	if c.opts.RefuseLeAbove > 0 && ne > c.opts.RefuseLeAbove {
		return sw(0x6700)
	}
	var offset int
	if cmd.INS == 0xB0 {
		if cmd.P1&0x80 != 0 {
			return sw(0x6A86) // short EF identifier selection is not offered
		}
		offset = int(cmd.P1)<<8 | int(cmd.P2)
	} else {
		if len(cmd.Data) < 3 || cmd.Data[0] != 0x54 || int(cmd.Data[1]) != len(cmd.Data)-2 || len(cmd.Data) > 5 {
			return sw(0x6A80)
		}
		for _, b := range cmd.Data[2:] {
			offset = offset<<8 | int(b)
		}
	}
	if offset >= len(data) {
		return sw(0x6B00)
	}
	n := min(ne, c.opts.MaxLe)
	if cmd.INS == 0xB1 {
		n -= 4 // DO'53' header
	}
	end := min(offset+n, len(data))
	chunk := data[offset:end]
	status := uint16(0x9000)
	if end == len(data) && len(chunk) < n {
		status = 0x6282
	}
	if cmd.INS == 0xB1 {
		l := len(chunk)
		hdr := []byte{0x53, byte(l)}
		switch {
		case l > 0xFF:
			hdr = []byte{0x53, 0x82, byte(l >> 8), byte(l)}
		case l >= 0x80:
			hdr = []byte{0x53, 0x81, byte(l)}
		}
		return apdu.Response{Data: append(hdr, chunk...), SW: status}
	}
	return apdu.Response{Data: bytes.Clone(chunk), SW: status}
}

func (c *Chip) getChallenge(cmd apdu.Command) apdu.Response {
	if !c.opts.BAC || cmd.Ne != 8 {
		if !c.opts.BAC {
			return sw(0x6D00)
		}
		return sw(0x6700)
	}
	c.st.rndIC = make([]byte, 8)
	if _, err := io.ReadFull(c.rand, c.st.rndIC); err != nil {
		return sw(0x6F00)
	}
	return apdu.Response{Data: bytes.Clone(c.st.rndIC), SW: 0x9000}
}

func (c *Chip) externalAuthenticate(cmd apdu.Command) apdu.Response {
	if !c.opts.BAC {
		return sw(0x6D00)
	}
	if c.st.rndIC == nil || !c.st.appSelected {
		return sw(0x6985) // conditions of use: no challenge yet
	}
	rndIC := c.st.rndIC
	c.st.rndIC = nil
	if len(cmd.Data) != 40 {
		return sw(0x6700)
	}
	seed := sha1.Sum([]byte(c.opts.MRZInformation))
	kenc := sm.KDF(sm.TDES, seed[:16], sm.CounterEnc)
	kmac := sm.KDF(sm.TDES, seed[:16], sm.CounterMAC)
	mac, _ := sm.TDES.MAC(kmac, sm.Pad(cmd.Data[:32], 8))
	if subtle.ConstantTimeCompare(mac, cmd.Data[32:]) != 1 {
		return sw(0x6300)
	}
	s, err := sm.TDES.Decrypt(kenc, nil, cmd.Data[:32])
	if err != nil || !bytes.Equal(s[8:16], rndIC) {
		return sw(0x6300)
	}
	rndIFD, kIFD := s[:8], s[16:32]
	kIC := make([]byte, 16)
	if _, err := io.ReadFull(c.rand, kIC); err != nil {
		return sw(0x6F00)
	}
	r := append(append(append([]byte(nil), rndIC...), rndIFD...), kIC...)
	eIC, _ := sm.TDES.Encrypt(kenc, nil, r)
	mIC, _ := sm.TDES.MAC(kmac, sm.Pad(eIC, 8))
	kseed := make([]byte, 16)
	subtle.XORBytes(kseed, kIFD, kIC)
	ssc := append(append([]byte(nil), rndIC[4:]...), rndIFD[4:]...)
	sess, err := sm.NewSession(sm.TDES, sm.KDF(sm.TDES, kseed, sm.CounterEnc), sm.KDF(sm.TDES, kseed, sm.CounterMAC), ssc)
	if err != nil {
		return sw(0x6F00)
	}
	c.st.sess = sess
	return apdu.Response{Data: append(eIC, mIC...), SW: 0x9000}
}

// parseDOs splits simple TLVs with one-byte tags.
func parseDOs(b []byte) (map[byte][]byte, error) {
	out := map[byte][]byte{}
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, errors.New("truncated")
		}
		tag, n := b[0], int(b[1])
		b = b[2:]
		switch {
		case n == 0x81 && len(b) >= 1:
			n, b = int(b[0]), b[1:]
		case n == 0x82 && len(b) >= 2:
			n, b = int(b[0])<<8|int(b[1]), b[2:]
		case n >= 0x80:
			return nil, errors.New("bad length")
		}
		if n > len(b) {
			return nil, errors.New("truncated")
		}
		out[tag] = b[:n]
		b = b[n:]
	}
	return out, nil
}

func (c *Chip) mseSetAT(cmd apdu.Command) apdu.Response {
	if cmd.P1 != 0xC1 || cmd.P2 != 0xA4 || len(c.opts.PACE) == 0 || c.st.appSelected {
		return sw(0x6A86)
	}
	dos, err := parseDOs(cmd.Data)
	if err != nil {
		return sw(0x6A80)
	}
	var offer *PACEOffer
	var oid asn1.ObjectIdentifier
	var cph sm.Cipher
	for i := range c.opts.PACE {
		o, cc, _ := paceOID(c.opts.PACE[i])
		der, _ := asn1.Marshal(o)
		pid, ok := dos[0x84]
		if bytes.Equal(der[2:], dos[0x80]) && (!ok || (len(pid) == 1 && int(pid[0]) == c.opts.PACE[i].ParamID)) {
			offer, oid, cph = &c.opts.PACE[i], o, cc
			break
		}
	}
	if offer == nil {
		return sw(0x6A80)
	}
	var secret []byte
	switch ref := dos[0x83]; {
	case bytes.Equal(ref, []byte{1}) && c.opts.MRZInformation != "":
		h := sha1.Sum([]byte(c.opts.MRZInformation))
		secret = h[:]
	case bytes.Equal(ref, []byte{2}) && c.opts.CAN != "":
		secret = []byte(c.opts.CAN)
	default:
		return sw(0x6A80)
	}
	c.st.pace = &paceState{offer: *offer, oid: oid, cipher: cph, curve: ecc.ByStandardizedID(offer.ParamID), secret: secret}
	c.st.paceStep = 0
	return sw(0x9000)
}

func (c *Chip) generalAuthenticate(cmd apdu.Command) apdu.Response {
	p := c.st.pace
	if p == nil {
		return sw(0x6985)
	}
	fail := func(code uint16) apdu.Response { c.st.pace = nil; return sw(code) }
	chained := cmd.CLA&0x10 != 0
	if (c.st.paceStep < 3) != chained {
		return fail(0x6883) // last command of a chain expected, or chaining where none fits
	}
	if len(cmd.Data) < 2 || cmd.Data[0] != 0x7C || int(cmd.Data[1]) > len(cmd.Data)-2 {
		return fail(0x6A80)
	}
	inner := cmd.Data[2:]
	if cmd.Data[1] == 0x81 && len(cmd.Data) >= 3 {
		inner = cmd.Data[3:]
	}
	dos, err := parseDOs(inner)
	if err != nil {
		return fail(0x6A80)
	}
	switch c.st.paceStep {
	case 0:
		if len(dos) != 0 {
			return fail(0x6A80)
		}
		p.s = make([]byte, p.cipher.BlockSize())
		if _, err := io.ReadFull(c.rand, p.s); err != nil {
			return fail(0x6F00)
		}
		kpi := sm.KDF(p.cipher, p.secret, sm.CounterPI)
		z, _ := p.cipher.Encrypt(kpi, nil, p.s)
		c.st.paceStep++
		return apdu.Response{Data: tlv.EncodeTLV(tlv.Tag(0x7C), tlv.EncodeTLV(tlv.Tag(0x80), z)), SW: 0x9000}
	case 1:
		pkIFD, err := p.curve.Unmarshal(dos[0x81])
		if err != nil {
			return fail(0x6A80)
		}
		sk, pk, err := p.curve.GenerateKey(c.rand)
		if err != nil {
			return fail(0x6F00)
		}
		h, err := p.curve.ECDH(sk, pkIFD)
		if err != nil {
			return fail(0x6A80)
		}
		g := p.curve.Add(p.curve.Mul(p.curve.Generator(), new(big.Int).SetBytes(p.s)), h)
		if p.mapped, err = p.curve.WithGenerator(g); err != nil {
			return fail(0x6A80)
		}
		p.skMap, p.pkMapIC = sk, pk
		c.st.paceStep++
		return apdu.Response{Data: tlv.EncodeTLV(tlv.Tag(0x7C), tlv.EncodeTLV(tlv.Tag(0x82), p.curve.Marshal(pk))), SW: 0x9000}
	case 2:
		pkIFD, err := p.mapped.Unmarshal(dos[0x83])
		if err != nil {
			return fail(0x6A80)
		}
		sk, pk, err := p.mapped.GenerateKey(c.rand)
		if err != nil {
			return fail(0x6F00)
		}
		z, err := p.mapped.ECDH(sk, pkIFD)
		if err != nil {
			return fail(0x6A80)
		}
		k := p.mapped.MarshalField(z.X)
		p.ksenc, p.ksmac = sm.KDF(p.cipher, k, sm.CounterEnc), sm.KDF(p.cipher, k, sm.CounterMAC)
		p.skEph, p.pkEph, p.pkIFD = sk, p.mapped.Marshal(pk), p.mapped.Marshal(pkIFD)
		c.st.paceStep++
		return apdu.Response{Data: tlv.EncodeTLV(tlv.Tag(0x7C), tlv.EncodeTLV(tlv.Tag(0x84), p.pkEph)), SW: 0x9000}
	case 3:
		want, _ := sm.PACEToken(p.cipher, p.ksmac, p.oid, p.pkEph)
		if subtle.ConstantTimeCompare(want, dos[0x85]) != 1 {
			return fail(0x6300)
		}
		tIC, _ := sm.PACEToken(p.cipher, p.ksmac, p.oid, p.pkIFD)
		resp := tlv.EncodeTLV(tlv.Tag(0x86), tIC)
		if p.offer.Mapping == "CAM" {
			// CA_IC = SK_IC⁻¹ · SK_Map,IC mod n, sent encrypted under KSenc with IV E(KSenc, -1).
			caIC := new(big.Int).ModInverse(c.ca.d, p.curve.N)
			caIC.Mul(caIC, p.skMap).Mod(caIC, p.curve.N)
			iv, _ := p.cipher.EncryptBlock(p.ksenc, bytes.Repeat([]byte{0xFF}, p.cipher.BlockSize()))
			a, err := p.cipher.Encrypt(p.ksenc, iv, sm.Pad(p.curve.MarshalScalar(caIC), p.cipher.BlockSize()))
			if err != nil {
				return fail(0x6F00)
			}
			resp = append(resp, tlv.EncodeTLV(tlv.Tag(0x8A), a)...)
		}
		sess, err := sm.NewSession(p.cipher, p.ksenc, p.ksmac, make([]byte, p.cipher.BlockSize()))
		if err != nil {
			return fail(0x6F00)
		}
		c.st.pace = nil
		// The token response still goes out unprotected; SM starts with the next command.
		c.st.sess = sess
		return apdu.Response{Data: tlv.EncodeTLV(tlv.Tag(0x7C), resp), SW: 0x9000}
	}
	return fail(0x6985)
}

func (c *Chip) internalAuthenticate(cmd apdu.Command) apdu.Response {
	if c.opts.AAKey == nil {
		return sw(0x6D00)
	}
	if c.st.sess == nil || !c.st.appSelected {
		return sw(0x6982)
	}
	if len(cmd.Data) != 8 {
		return sw(0x6700)
	}
	sig, err := SignActiveAuthentication(c.opts.AAKey, cmd.Data, c.rand)
	if err != nil {
		return sw(0x6F00)
	}
	return apdu.Response{Data: sig, SW: 0x9000}
}

func (c *Chip) loadCA() error {
	curve, d, err := ecc.ParsePrivateKey(c.opts.CAKey)
	if err != nil {
		return fmt.Errorf("emrtdsim: CA key: %w", err)
	}
	c.ca = &caKey{curve: curve, d: d}
	// The Chip Authentication protocol comes from DG14, else EF.CardSecurity. Without one
	// the key serves PACE-CAM only.
	var sources [][]byte
	if dg14, ok := c.opts.Files["DG14"]; ok {
		sources = append(sources, dg14)
	}
	if cs, ok := c.opts.Files["EF.CardSecurity"]; ok {
		sd, err := pki.ParseSignedData(cs)
		if err != nil {
			return fmt.Errorf("emrtdsim: EF.CardSecurity: %w", err)
		}
		sources = append(sources, sd.Content)
	}
	for _, src := range sources {
		si, err := lds.ParseSecurityInfos(src)
		if err != nil {
			return fmt.Errorf("emrtdsim: security infos: %w", err)
		}
		for _, ci := range si.ChipAuth {
			if ci.KeyAgreement == "ECDH" {
				c.ca.oid = ci.Protocol
				c.ca.cipher = map[int]sm.Cipher{112: sm.TDES, 128: sm.AES128, 192: sm.AES192, 256: sm.AES256}[ci.KeyBits]
				return nil
			}
		}
	}
	return nil
}

// caAgree computes the new session keys from the terminal's ephemeral key.
func (c *Chip) caAgree(pk []byte) apdu.Response {
	q, err := c.ca.curve.Unmarshal(pk)
	if err != nil {
		return sw(0x6A80)
	}
	z, err := c.ca.curve.ECDH(c.ca.d, q)
	if err != nil {
		return sw(0x6A80)
	}
	k := c.ca.curve.MarshalField(z.X)
	cph := c.ca.cipher
	sess, err := sm.NewSession(cph, sm.KDF(cph, k, sm.CounterEnc), sm.KDF(cph, k, sm.CounterMAC), make([]byte, cph.BlockSize()))
	if err != nil {
		return sw(0x6F00)
	}
	c.st.nextSess = sess
	return sw(0x9000)
}

// caMSE handles MSE:Set KAT (3DES Chip Authentication) and MSE:Set AT for CA.
func (c *Chip) caMSE(cmd apdu.Command) apdu.Response {
	if c.ca == nil || c.ca.cipher == 0 {
		return sw(0x6A80)
	}
	if c.st.sess == nil {
		return sw(0x6982)
	}
	dos, err := parseDOs(cmd.Data)
	if err != nil {
		return sw(0x6A80)
	}
	switch cmd.P2 {
	case 0xA6: // Set KAT
		if c.ca.cipher != sm.TDES || dos[0x91] == nil {
			return sw(0x6A80)
		}
		return c.caAgree(dos[0x91])
	case 0xA4: // Set AT
		der, _ := asn1.Marshal(c.ca.oid)
		if !bytes.Equal(dos[0x80], der[2:]) {
			return sw(0x6A80)
		}
		c.st.caSetAT = true
		return sw(0x9000)
	}
	return sw(0x6A86)
}

func (c *Chip) caGeneralAuthenticate(cmd apdu.Command) apdu.Response {
	c.st.caSetAT = false
	if c.st.sess == nil || len(cmd.Data) < 2 || cmd.Data[0] != 0x7C {
		return sw(0x6A80)
	}
	inner := cmd.Data[2:]
	if cmd.Data[1] == 0x81 && len(cmd.Data) > 2 {
		inner = cmd.Data[3:]
	}
	dos, err := parseDOs(inner)
	if err != nil || dos[0x80] == nil {
		return sw(0x6A80)
	}
	r := c.caAgree(dos[0x80])
	if r.SW != 0x9000 {
		return r
	}
	return apdu.Response{Data: []byte{0x7C, 0x00}, SW: 0x9000}
}
