package readers

import (
	"github.com/edgeid/edgeid/drivers/nfc/nfcsim"
	"github.com/edgeid/edgeid/drivers/nfc/pn532/pn532sim"
)

// SimFiles is the made-up document of the "sim" reader: EF.COM, DG1 with a TD3 MRZ of an
// invented holder of the fictional state Utopia, and a DG2-sized (20 000 bytes) placeholder of
// pattern bytes, not an image. It has no access control (see nfcsim.FileCard) and no SOD: it
// exercises the reader path, not document verification.
func SimFiles() map[uint16][]byte {
	mrz := SimMRZ()
	dg1 := append([]byte{0x61, 0x5b, 0x5f, 0x1f, 0x58}, mrz...)
	dg2 := make([]byte, 20000)
	copy(dg2, []byte{0x75, 0x82, 0x4e, 0x1c}) // tag 75, length 19996
	for i := 4; i < len(dg2); i++ {
		dg2[i] = byte(i*31 + i>>7)
	}
	return map[uint16][]byte{
		0x011e: {0x60, 0x16, 0x5f, 0x01, 0x04, '0', '1', '0', '7', 0x5f, 0x36, 0x06, '0', '4', '0', '0', '0', '0', 0x5c, 0x02, 0x61, 0x75},
		0x0101: dg1,
		0x0102: dg2,
	}
}

// SimMRZ is the 88-character TD3 MRZ in SimFiles, with valid check digits.
func SimMRZ() []byte {
	l1 := pad("P<UTOSPECIMEN<<SIM<READER", 44)
	doc, birth, expiry := "X00000001", "900101", "350101"
	l2 := doc + check(doc) + "UTO" + birth + check(birth) + "F" + expiry + check(expiry) + pad("", 14) + "<"
	composite := doc + check(doc) + birth + check(birth) + expiry + check(expiry) + pad("", 14) + "<"
	l2 += check(composite)
	return []byte(l1 + l2)
}

func pad(s string, n int) string {
	for len(s) < n {
		s += "<"
	}
	return s
}

// check is the ICAO 9303 check digit (weights 7 3 1, '<' = 0, A = 10).
func check(s string) string {
	w := [3]int{7, 3, 1}
	sum := 0
	for i, c := range s {
		v := 0
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case c >= 'A' && c <= 'Z':
			v = int(c-'A') + 10
		}
		sum += v * w[i%3]
	}
	return string(rune('0' + sum%10))
}

// SimPassport is a Type A passport card holding SimFiles.
func SimPassport() *pn532sim.Card {
	return pn532sim.PassportA(&nfcsim.FileCard{
		AID:   []byte{0xa0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01},
		Files: SimFiles(),
	})
}
