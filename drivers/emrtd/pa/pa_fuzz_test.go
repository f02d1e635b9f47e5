package pa

import (
	"testing"

	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
	"github.com/edgeid/edgeid/drivers/internal/sharedtest"
)

func FuzzParseDG15(f *testing.F) {
	sharedtest.AddSample(f, "emrtd-samples/NL_Sdu_specimen_2006_Meulendijk", "DG15.bin", pki.MaxTrustFileSize)
	f.Fuzz(func(t *testing.T, b []byte) {
		if k, err := lds.ParseDG15(b); err == nil {
			_ = VerifyActiveAuthentication(k, []byte{1, 2, 3, 4, 5, 6, 7, 8}, b, nil)
		}
	})
}

func FuzzVerifyCardSecurity(f *testing.F) {
	f.Add([]byte{0x30, 0x80, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02, 0x00, 0x00})
	if b := sharedtest.Sample("emrtd-samples/NL_Sdu_specimen_2006_Meulendijk", "EF_SOD.bin", pki.MaxTrustFileSize); len(b) > 4 {
		f.Add(b[4:])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		si, r := VerifyCardSecurity(b, nil)
		if si == nil && r.Passed() {
			t.Fatal("passed without security infos")
		}
	})
}
