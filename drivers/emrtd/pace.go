package emrtd

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/edgeid/edgeid/drivers/apdu"
	"github.com/edgeid/edgeid/drivers/emrtd/internal/ecc"
	"github.com/edgeid/edgeid/drivers/emrtd/internal/sm"
	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
)

// oidPACEPrefix is id-PACE (BSI TR-03110, ICAO 9303-11 §9.2.1): 0.4.0.127.0.7.2.2.4.
func oidPACEPrefix() []int { return []int{0, 4, 0, 127, 0, 7, 2, 2, 4} }

// PACE mappings (the arc after id-PACE).
const (
	paceDHGM    = 1
	paceECDHGM  = 2
	paceDHIM    = 3
	paceECDHIM  = 4
	paceECDHCAM = 6
)

// paceChoice is one PACEInfo from EF.CardAccess this package can run.
type paceChoice struct {
	oid     asn1.ObjectIdentifier
	mapping int
	cipher  sm.Cipher
	paramID int
	curve   *ecc.Curve
}

// paceProtocolName names a PACE protocol OID, e.g. "id-PACE-ECDH-GM-AES-CBC-CMAC-128".
func paceProtocolName(oid asn1.ObjectIdentifier) string {
	if len(oid) != len(oidPACEPrefix())+2 || !oidHasPrefix(oid, oidPACEPrefix()) {
		return oid.String()
	}
	m := map[int]string{paceDHGM: "DH-GM", paceECDHGM: "ECDH-GM", paceDHIM: "DH-IM", paceECDHIM: "ECDH-IM", paceECDHCAM: "ECDH-CAM"}[oid[9]]
	c := map[int]string{1: "3DES-CBC-CBC", 2: "AES-CBC-CMAC-128", 3: "AES-CBC-CMAC-192", 4: "AES-CBC-CMAC-256"}[oid[10]]
	if m == "" || c == "" {
		return oid.String()
	}
	return "id-PACE-" + m + "-" + c
}

func oidHasPrefix(oid asn1.ObjectIdentifier, p []int) bool {
	if len(oid) < len(p) {
		return false
	}
	for i := range p {
		if oid[i] != p[i] {
			return false
		}
	}
	return true
}

// paceCurve maps the standardized domain parameter IDs of ICAO 9303-11 §9.5.1 to curves.
func paceCurve(id int) *ecc.Curve { return ecc.ByStandardizedID(id) }

// PACEParamID returns the standardized domain parameter ID of a named curve, or 0.
func PACEParamID(curveName string) int {
	for id := 8; id <= 18; id++ {
		if c := paceCurve(id); c != nil && c.Name == curveName {
			return id
		}
	}
	return 0
}

// choosePACE reads the PACEInfos of EF.CardAccess (a SET OF SecurityInfo) and picks the one
// to run: ECDH-CAM first, then ECDH generic mapping, stronger ciphers first. It returns an error saying why none fits.
func choosePACE(cardAccess []byte) (paceChoice, error) {
	objs, err := tlv.ParseTLV(cardAccess)
	if err != nil {
		return paceChoice{}, fmt.Errorf("EF.CardAccess: %w", err)
	}
	if len(objs) != 1 || objs[0].Tag != 0x31 {
		return paceChoice{}, fmt.Errorf("%w: EF.CardAccess is not one SET", ErrProtocol)
	}
	var best paceChoice
	var seen []string
	for _, si := range objs[0].Children {
		if si.Tag != 0x30 || len(si.Children) < 2 || si.Children[0].Tag != 0x06 {
			continue
		}
		var oid asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(si.Children[0].Raw, &oid); err != nil {
			continue
		}
		if len(oid) != len(oidPACEPrefix())+2 || !oidHasPrefix(oid, oidPACEPrefix()) {
			continue // another SecurityInfo (CA, TA, ...) or PACEDomainParameterInfo
		}
		name := paceProtocolName(oid)
		version, err := smallInt(si.Children[1])
		if err != nil || version != 2 {
			seen = append(seen, name+" (version not 2)")
			continue
		}
		if len(si.Children) < 3 {
			seen = append(seen, name+" (no standardized parameterId)")
			continue
		}
		pid, err := smallInt(si.Children[2])
		if err != nil {
			seen = append(seen, name+" (bad parameterId)")
			continue
		}
		ch := paceChoice{oid: oid, mapping: oid[9], paramID: pid, cipher: sm.Cipher(oid[10])}
		if oid[10] < 1 || oid[10] > 4 {
			seen = append(seen, name+" (unknown cipher)")
			continue
		}
		if ch.mapping != paceECDHGM && ch.mapping != paceECDHCAM {
			seen = append(seen, fmt.Sprintf("%s param %d (mapping not supported)", name, pid))
			continue
		}
		if ch.curve = paceCurve(pid); ch.curve == nil {
			seen = append(seen, fmt.Sprintf("%s param %d (not an ECDH parameter set)", name, pid))
			continue
		}
		if best.curve == nil || rankPACE(ch) > rankPACE(best) {
			best = ch
		}
	}
	if best.curve == nil {
		if len(seen) == 0 {
			return paceChoice{}, errors.New("EF.CardAccess offers no PACE")
		}
		return paceChoice{}, fmt.Errorf("EF.CardAccess offers no supported PACE: %v", seen)
	}
	return best, nil
}

// rankPACE prefers PACE-CAM (it authenticates the chip too), then generic mapping, then
// the stronger cipher.
func rankPACE(c paceChoice) int {
	r := int(c.cipher)
	switch c.mapping {
	case paceECDHCAM:
		r += 20
	case paceECDHGM:
		r += 10
	}
	return r
}

func smallInt(t tlv.TLV) (int, error) {
	if t.Tag != 0x02 || len(t.Value) == 0 || len(t.Value) > 4 {
		return 0, fmt.Errorf("not a small INTEGER")
	}
	v := new(big.Int).SetBytes(t.Value)
	if t.Value[0]&0x80 != 0 {
		return 0, fmt.Errorf("negative INTEGER")
	}
	return int(v.Int64()), nil
}

// gaData extracts the data object with tag want from a General Authenticate response 7C.
func gaData(resp []byte, want tlv.Tag, step string) ([]byte, error) {
	t, err := tlv.ParseTLVExpect(resp, 0x7C)
	if err != nil {
		return nil, fmt.Errorf("%w: pace %s: response: %v", ErrProtocol, step, err)
	}
	d, ok := t.Find(want)
	if !ok {
		return nil, fmt.Errorf("%w: pace %s: response lacks tag %s", ErrProtocol, step, want)
	}
	return d.Value, nil
}

// paceMutualAuth is the tag of the last GENERAL AUTHENTICATE of PACE, the only one not chained.
const paceMutualAuth = 0x85

// paceGA sends one GENERAL AUTHENTICATE of PACE carrying v under tag (tag 0: empty dynamic
// authentication data), checks its status and returns the value under want in the chip's
// dynamic authentication data, and that data whole. A refused mutual authentication (63xx,
// 6982) is ErrAccessDenied: the key was wrong.
func paceGA(ctx context.Context, c *channel, step string, tag int, v []byte, want tlv.Tag) (val, data []byte, err error) {
	cmd := apdu.Command{CLA: 0x10, INS: 0x86, Data: []byte{0x7C, 0x00}, Ne: 256}
	if tag != 0 {
		cmd.Data = tlv.EncodeTLV(tlv.Tag(0x7C), tlv.EncodeTLV(tlv.Tag(tag), v))
	}
	if tag == paceMutualAuth {
		cmd.CLA = 0
	}
	r, err := c.transmit(ctx, cmd)
	if err != nil {
		return nil, nil, fmt.Errorf("pace %s: %w", step, err)
	}
	if tag == paceMutualAuth && (r.SW>>8 == 0x63 || r.SW == 0x6982) {
		return nil, nil, fmt.Errorf("pace: mutual authentication status %04X: %w", r.SW, ErrAccessDenied)
	}
	if r.SW != 0x9000 {
		return nil, nil, &StatusError{Op: "pace: GENERAL AUTHENTICATE (" + step + ")", SW: r.SW}
	}
	val, err = gaData(r.Data, want, step)
	if err != nil {
		return nil, nil, err
	}
	return val, r.Data, nil
}

// paceAuthToken computes MAC(KSmac, 7F49{06 oid, 86 point}) (ICAO 9303-11 §4.4.3.4).
func paceAuthToken(c sm.Cipher, kmac []byte, oid asn1.ObjectIdentifier, point []byte) ([]byte, error) {
	return sm.PACEToken(c, kmac, oid, point)
}

// pace runs PACE with ECDH generic mapping (ICAO 9303-11 §4.4) and starts secure messaging.
func pace(ctx context.Context, c *channel, key mrz.AccessKey, ch paceChoice, rand io.Reader) error {
	_, err := paceRun(ctx, c, key, ch, rand)
	return err
}

// camData is what PACE-CAM leaves to check once the chip's static key is known:
// PK_Map,IC must equal CA_IC · PK_IC.
type camData struct {
	curve   *ecc.Curve
	caIC    *big.Int
	pkMapIC ecc.Point
}

// camIV is the IV of the encrypted chip authentication data: E(KSenc, -1), the block
// with every bit set (ICAO 9303-11 §4.4.3.5.2).
func camIV(c sm.Cipher, ksenc []byte) ([]byte, error) {
	ones := bytes.Repeat([]byte{0xFF}, c.BlockSize())
	return c.EncryptBlock(ksenc, ones)
}

// paceRun runs PACE; for PACE-CAM it also returns the chip authentication data.
func paceRun(ctx context.Context, c *channel, key mrz.AccessKey, ch paceChoice, rand io.Reader) (*camData, error) {
	if key.IsZero() {
		return nil, errors.New("pace: no access key")
	}
	oidDER, err := asn1.Marshal(ch.oid)
	if err != nil {
		return nil, err
	}
	// MSE:Set AT: 80 protocol OID (value only), 83 password reference, 84 parameter ID.
	mse := tlv.EncodeTLV(tlv.Tag(0x80), oidDER[2:])
	mse = append(mse, tlv.EncodeTLV(tlv.Tag(0x83), []byte{byte(key.Kind())})...)
	mse = append(mse, tlv.EncodeTLV(tlv.Tag(0x84), []byte{byte(ch.paramID)})...)
	r, err := c.transmit(ctx, apdu.Command{INS: 0x22, P1: 0xC1, P2: 0xA4, Data: mse})
	if err != nil {
		return nil, fmt.Errorf("pace: MSE:Set AT: %w", err)
	}
	if r.SW != 0x9000 && r.SW>>8 != 0x63 { // 63Cx: password retry counter, still usable
		return nil, &StatusError{Op: "pace: MSE:Set AT", SW: r.SW}
	}

	// Step 1: the encrypted nonce.
	z, _, err := paceGA(ctx, c, "nonce", 0, nil, 0x80)
	if err != nil {
		return nil, err
	}
	kpi := sm.KDF(ch.cipher, key.PACEPassword(), sm.CounterPI)
	if len(z) == 0 || len(z)%ch.cipher.BlockSize() != 0 || len(z) > 64 {
		return nil, fmt.Errorf("%w: pace: encrypted nonce of %d bytes", ErrProtocol, len(z))
	}
	s, err := ch.cipher.Decrypt(kpi, nil, z)
	if err != nil {
		return nil, err
	}
	curve := ch.curve
	// Step 2: generic mapping.
	skMap, pkMap, err := curve.GenerateKey(rand)
	if err != nil {
		return nil, err
	}
	raw, _, err := paceGA(ctx, c, "mapping", 0x81, curve.Marshal(pkMap), 0x82)
	if err != nil {
		return nil, err
	}
	pkMapIC, err := curve.Unmarshal(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: pace: chip's mapping key: %v", ErrProtocol, err)
	}
	if pkMapIC.Equal(pkMap) {
		return nil, fmt.Errorf("%w: pace: chip echoed our mapping key", ErrProtocol)
	}
	h, err := curve.ECDH(skMap, pkMapIC)
	if err != nil {
		return nil, fmt.Errorf("%w: pace: mapping: %v", ErrProtocol, err)
	}
	gHat := curve.Add(curve.Mul(curve.Generator(), new(big.Int).SetBytes(s)), h)
	mapped, err := curve.WithGenerator(gHat)
	if err != nil {
		return nil, fmt.Errorf("%w: pace: mapped generator: %v", ErrProtocol, err)
	}
	// Step 3: key agreement on the mapped generator.
	skEph, pkEph, err := mapped.GenerateKey(rand)
	if err != nil {
		return nil, err
	}
	pkEphBytes := mapped.Marshal(pkEph)
	pkEphICBytes, _, err := paceGA(ctx, c, "key agreement", 0x83, pkEphBytes, 0x84)
	if err != nil {
		return nil, err
	}
	pkEphIC, err := mapped.Unmarshal(pkEphICBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: pace: chip's ephemeral key: %v", ErrProtocol, err)
	}
	if pkEphIC.Equal(pkEph) {
		return nil, fmt.Errorf("%w: pace: chip echoed our ephemeral key", ErrProtocol)
	}
	shared, err := mapped.ECDH(skEph, pkEphIC)
	if err != nil {
		return nil, fmt.Errorf("%w: pace: key agreement: %v", ErrProtocol, err)
	}
	k := mapped.MarshalField(shared.X)
	ksenc := sm.KDF(ch.cipher, k, sm.CounterEnc)
	ksmac := sm.KDF(ch.cipher, k, sm.CounterMAC)
	// Step 4: mutual authentication.
	tIFD, err := paceAuthToken(ch.cipher, ksmac, ch.oid, mapped.Marshal(pkEphIC))
	if err != nil {
		return nil, err
	}
	tIC, final, err := paceGA(ctx, c, "mutual authentication", 0x85, tIFD, 0x86)
	if err != nil {
		return nil, err
	}
	want, err := paceAuthToken(ch.cipher, ksmac, ch.oid, pkEphBytes)
	if err != nil {
		return nil, err
	}
	if len(tIC) != len(want) || subtle.ConstantTimeCompare(tIC, want) != 1 {
		return nil, fmt.Errorf("pace: chip's authentication token: %w", ErrMAC)
	}
	var cam *camData
	if ch.mapping == paceECDHCAM {
		a, err := gaData(final, 0x8A, "mutual authentication (CAM)")
		if err != nil {
			return nil, err
		}
		if len(a) == 0 || len(a)%ch.cipher.BlockSize() != 0 || len(a) > 128 {
			return nil, fmt.Errorf("%w: pace-cam: chip authentication data of %d bytes", ErrProtocol, len(a))
		}
		iv, err := camIV(ch.cipher, ksenc)
		if err != nil {
			return nil, err
		}
		pt, err := ch.cipher.Decrypt(ksenc, iv, a)
		if err != nil {
			return nil, err
		}
		ca, err := sm.Unpad(pt)
		if err != nil {
			return nil, fmt.Errorf("%w: pace-cam: chip authentication data: %v", ErrProtocol, err)
		}
		cam = &camData{curve: curve, caIC: new(big.Int).SetBytes(ca), pkMapIC: pkMapIC}
	}
	sess, err := sm.NewSession(ch.cipher, ksenc, ksmac, make([]byte, ch.cipher.BlockSize()))
	if err != nil {
		return nil, err
	}
	c.sm = sess
	return cam, nil
}

// verifyCAM checks PACE-CAM once the chip's static ECDH key is known (from EF.CardSecurity,
// else DG14): PK_Map,IC = CA_IC · PK_IC on the PACE domain parameters.
func verifyCAM(cam *camData, files lds.Files) error {
	pub, src, err := camStaticKey(files)
	if err != nil {
		return err
	}
	if !pub.Curve.Arith().Same(cam.curve) {
		return fmt.Errorf("pace-cam: the %s key is not on the PACE domain parameters", src)
	}
	if cam.caIC.Sign() <= 0 || cam.caIC.Cmp(cam.curve.N) >= 0 {
		return fmt.Errorf("pace-cam: chip authentication data out of range")
	}
	q := ecc.Point{X: pub.X, Y: pub.Y}
	if !cam.curve.IsOnCurve(q.X, q.Y) {
		return fmt.Errorf("pace-cam: the %s key is not on the curve", src)
	}
	if !cam.curve.Mul(q, cam.caIC).Equal(cam.pkMapIC) {
		return fmt.Errorf("pace-cam: CA_IC · PK_IC differs from the chip's mapping key (key from %s)", src)
	}
	return nil
}

// camStaticKey finds the chip's ECDH Chip Authentication key in EF.CardSecurity or DG14.
func camStaticKey(files lds.Files) (*pki.ECPublicKey, string, error) {
	var infos []struct {
		name string
		si   *lds.SecurityInfos
	}
	if cs, ok := files["EF.CardSecurity"]; ok {
		sd, err := pki.ParseSignedData(cs)
		if err != nil {
			return nil, "", fmt.Errorf("pace-cam: EF.CardSecurity: %w", err)
		}
		si, err := lds.ParseSecurityInfos(sd.Content)
		if err != nil {
			return nil, "", fmt.Errorf("pace-cam: EF.CardSecurity content: %w", err)
		}
		infos = append(infos, struct {
			name string
			si   *lds.SecurityInfos
		}{"EF.CardSecurity", si})
	}
	if dg14, ok := files["DG14"]; ok {
		si, err := lds.ParseSecurityInfos(dg14)
		if err != nil {
			return nil, "", fmt.Errorf("pace-cam: DG14: %w", err)
		}
		infos = append(infos, struct {
			name string
			si   *lds.SecurityInfos
		}{"DG14", si})
	}
	for _, x := range infos {
		for _, k := range x.si.ChipAuthKeys {
			if pub, ok := k.PublicKey.(*pki.ECPublicKey); ok && pub.Curve.Arith() != nil {
				return pub, x.name, nil
			}
		}
	}
	return nil, "", errors.New("pace-cam: neither EF.CardSecurity nor DG14 holds an ECDH chip authentication key")
}
