package pn532

import (
	"fmt"

	"github.com/edgeid/edgeid/drivers/nfc"
)

// Modulation selects the BrTy of InListPassiveTarget.
type Modulation byte

// The modulations an e-passport may answer.
const (
	TypeA106 Modulation = 0x00
	TypeB106 Modulation = 0x03
)

// Target is one target reported by InListPassiveTarget.
type Target struct {
	Tg   byte
	Info nfc.CardInfo
}

// ParseTargets decodes the InListPassiveTarget response parameters (after D5 4B) for the given
// modulation: NbTg then NbTg target descriptions.
func ParseTargets(m Modulation, r []byte) ([]Target, error) {
	if len(r) == 0 {
		return nil, fmt.Errorf("InListPassiveTarget: empty response, NbTg missing")
	}
	nb := int(r[0])
	if nb > 2 {
		return nil, fmt.Errorf("InListPassiveTarget: NbTg=%d, the PN532 reports at most 2", nb)
	}
	p := r[1:]
	var out []Target
	for i := 0; i < nb; i++ {
		var t Target
		var n int
		var err error
		switch m {
		case TypeA106:
			t, n, err = parseTargetA(p)
		case TypeB106:
			t, n, err = parseTargetB(p)
		default:
			return nil, fmt.Errorf("InListPassiveTarget: modulation %#02x not supported", byte(m))
		}
		if err != nil {
			return nil, fmt.Errorf("InListPassiveTarget target %d: %w", i+1, err)
		}
		out = append(out, t)
		p = p[n:]
	}
	if len(p) != 0 {
		return nil, fmt.Errorf("InListPassiveTarget: %d bytes after %d targets", len(p), nb)
	}
	return out, nil
}

// parseTargetA: Tg SENS_RES(2) SEL_RES NFCIDLength NFCID1 [ATS (TL counts itself)].
func parseTargetA(p []byte) (Target, int, error) {
	if len(p) < 5 {
		return Target{}, 0, fmt.Errorf("type A: %d bytes, want at least Tg SENS_RES(2) SEL_RES NFCIDLength", len(p))
	}
	t := Target{Tg: p[0]}
	t.Info.Protocol = nfc.TypeA
	t.Info.ATQA = [2]byte{p[1], p[2]} // in the order the PN532 sends SENS_RES
	t.Info.SAK = p[3]
	ul := int(p[4])
	if ul != 4 && ul != 7 && ul != 10 {
		return Target{}, 0, fmt.Errorf("type A: NFCID1 length %d, want 4, 7 or 10", ul)
	}
	n := 5 + ul
	if len(p) < n {
		return Target{}, 0, fmt.Errorf("type A: NFCID1 of %d bytes truncated at %d", ul, len(p)-5)
	}
	t.Info.UID = append([]byte(nil), p[5:n]...)
	if t.Info.SAK&0x20 != 0 { // ISO 14443-4 compliant: the PN532 sent RATS, ATS follows
		if len(p) <= n {
			return Target{}, 0, fmt.Errorf("type A: SAK %#02x announces ISO 14443-4 but ATS is missing", t.Info.SAK)
		}
		tl := int(p[n])
		if tl < 1 || len(p) < n+tl {
			return Target{}, 0, fmt.Errorf("type A: ATS length %d with %d bytes left", tl, len(p)-n)
		}
		t.Info.ATS = append([]byte(nil), p[n:n+tl]...)
		n += tl
	}
	t.Info.BitRateTx, t.Info.BitRateRx = 106, 106
	return t, n, nil
}

// parseTargetB: Tg ATQB(12) ATTRIB_RES length, ATTRIB_RES.
func parseTargetB(p []byte) (Target, int, error) {
	if len(p) < 14 {
		return Target{}, 0, fmt.Errorf("type B: %d bytes, want at least Tg ATQB(12) ATTRIB_RES length", len(p))
	}
	t := Target{Tg: p[0]}
	t.Info.Protocol = nfc.TypeB
	atqb := p[1:13]
	if atqb[0] != 0x50 {
		return Target{}, 0, fmt.Errorf("type B: ATQB starts %#02x, want 0x50", atqb[0])
	}
	t.Info.ATQB = append([]byte(nil), atqb...)
	t.Info.UID = append([]byte(nil), atqb[1:5]...) // PUPI
	al := int(p[13])
	if len(p) < 14+al {
		return Target{}, 0, fmt.Errorf("type B: ATTRIB_RES of %d bytes truncated at %d", al, len(p)-14)
	}
	t.Info.ATTRIB = append([]byte(nil), p[14:14+al]...)
	t.Info.BitRateTx, t.Info.BitRateRx = 106, 106
	return t, 14 + al, nil
}
