package lds

import (
	"testing"

	"github.com/edgeid/edgeid/drivers/internal/sharedtest"
)

func FuzzParseCOM(f *testing.F) {
	sharedtest.AddSample(f, "emrtd-samples/DE_BSI_TR03105-5_RefDataSet_HJP", "EF_COM.bin", maxSample)
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseCOM(b) })
}

func FuzzParseAdditional(f *testing.F) {
	sharedtest.AddSample(f, "emrtd-samples/DE_BDR_TEST_2008_Mustermann/extra_from_tsemrtd_not_in_SOD", "EF_DG11.bin", maxSample)
	sharedtest.AddSample(f, "emrtd-samples/DE_BDR_TEST_2008_Mustermann/extra_from_tsemrtd_not_in_SOD", "EF_DG12.bin", maxSample)
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := ParseAdditional(b); err == nil {
			for tag := range d.Elements {
				_ = d.Text(tag)
			}
		}
	})
}

// maxSample bounds a seed file from ../shared.
const maxSample = 1 << 20
