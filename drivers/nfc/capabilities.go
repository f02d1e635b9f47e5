package nfc

import "fmt"

// ATSHistorical returns the historical bytes of a Type A ATS (TL T0 [TA] [TB] [TC] T1..Tk).
func ATSHistorical(ats []byte) ([]byte, error) {
	if len(ats) == 0 {
		return nil, nil
	}
	tl := int(ats[0])
	if tl != len(ats) {
		return nil, fmt.Errorf("ats: length byte TL=%d but %d bytes given", tl, len(ats))
	}
	if tl == 1 {
		return nil, nil
	}
	t0 := ats[1]
	i := 2
	for _, bit := range []byte{0x10, 0x20, 0x40} {
		if t0&bit != 0 {
			i++
		}
	}
	if i > len(ats) {
		return nil, fmt.Errorf("ats: T0=%02x announces interface bytes beyond the %d-byte ATS", t0, len(ats))
	}
	return ats[i:], nil
}

// ATSBitRates returns the highest bit rates (kbit/s) the card accepts from reader to card (DR)
// and from card to reader (DS) according to TA(1) of its ATS, among 106, 212, 424 and 848.
func ATSBitRates(ats []byte) (pcdToPicc, piccToPcd int) {
	pcdToPicc, piccToPcd = 106, 106
	if len(ats) < 3 || int(ats[0]) != len(ats) || ats[1]&0x10 == 0 {
		return
	}
	ta := ats[2]
	if ta&0x08 != 0 { // b4 is RFU and must be 0; ignore a TA we do not understand
		return
	}
	rate := func(bits byte) int {
		switch {
		case bits&0x04 != 0:
			return 848
		case bits&0x02 != 0:
			return 424
		case bits&0x01 != 0:
			return 212
		}
		return 106
	}
	pcdToPicc, piccToPcd = rate(ta&0x07), rate((ta>>4)&0x07)
	if ta&0x80 != 0 { // same divisor both ways: the lower one
		m := min(pcdToPicc, piccToPcd)
		pcdToPicc, piccToPcd = m, m
	}
	return
}

// ATRHistorical returns the historical bytes of an ISO 7816-3 ATR (as PC/SC reports it, also
// for contactless cards, where PC/SC part 3 maps ATS historical bytes or ATQB into it).
func ATRHistorical(atr []byte) ([]byte, error) {
	if len(atr) < 2 {
		return nil, fmt.Errorf("atr: %d bytes, want at least TS T0", len(atr))
	}
	if atr[0] != 0x3b && atr[0] != 0x3f {
		return nil, fmt.Errorf("atr: TS=%02x, want 3b or 3f", atr[0])
	}
	k := int(atr[1] & 0x0f)
	y := atr[1] >> 4
	i := 2
	for n := 0; ; n++ {
		if n > 32 {
			return nil, fmt.Errorf("atr: more than 32 interface byte groups")
		}
		for _, bit := range []byte{0x1, 0x2, 0x4} {
			if y&bit != 0 {
				i++
			}
		}
		if y&0x8 == 0 {
			break
		}
		if i >= len(atr) {
			return nil, fmt.Errorf("atr: interface bytes run past the %d-byte ATR", len(atr))
		}
		y = atr[i] >> 4
		i++
	}
	if i+k > len(atr) {
		return nil, fmt.Errorf("atr: %d historical bytes at offset %d run past the %d-byte ATR", k, i, len(atr))
	}
	return atr[i : i+k], nil
}

// HistoricalExtendedLength reports whether historical bytes in ISO 7816-4 compact-TLV format
// (category indicator 0x80) carry a card-capabilities object (tag 7, length 3) whose third
// byte announces extended Lc and Le fields (b7). Other formats report false without error.
func HistoricalExtendedLength(hist []byte) (bool, error) {
	if len(hist) == 0 || hist[0] != 0x80 {
		return false, nil
	}
	for i := 1; i < len(hist); {
		tag, l := hist[i]>>4, int(hist[i]&0x0f)
		i++
		if i+l > len(hist) {
			return false, fmt.Errorf("historical bytes: compact-TLV tag %x length %d runs past %d bytes", tag, l, len(hist))
		}
		if tag == 0x7 && l >= 3 {
			return hist[i+2]&0x40 != 0, nil
		}
		i += l
	}
	return false, nil
}
