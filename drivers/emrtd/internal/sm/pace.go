package sm

import "encoding/asn1"

// PACEToken computes the PACE authentication token MAC(KSmac, 7F49{06 oid, 86 point})
// of ICAO 9303-11 §4.4.3.4: CMAC without padding for AES, padded retail MAC for 3DES.
func PACEToken(c Cipher, kmac []byte, oid asn1.ObjectIdentifier, point []byte) ([]byte, error) {
	oidDER, err := asn1.Marshal(oid)
	if err != nil {
		return nil, err
	}
	inner := append(oidDER, appendDO(nil, 0x86, point)...)
	data := append([]byte{0x7F}, appendDO(nil, 0x49, inner)...)
	if c == TDES {
		data = Pad(data, 8)
	}
	return c.MAC(kmac, data)
}
