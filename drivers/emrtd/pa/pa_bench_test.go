package pa

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
	"github.com/edgeid/edgeid/drivers/internal/sharedtest"
)

// BenchmarkPassiveAuthentication measures a full PA of the specimen documents (no trust
// store): SOD parse, DS certificate, message digest, signature, DG hashes.
func BenchmarkPassiveAuthentication(b *testing.B) {
	for _, bc := range []struct{ name, dir string }{
		{"RSA-PSS-2048", "DE_BSI_TR03105-5_RefDataSet_HJP"},
		{"ECDSA-brainpoolP224r1-explicit", "DE_BDR_TEST_2008_Mustermann"},
		{"RSA-PKCS1-2048", "NL_Sdu_specimen_2006_Meulendijk"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			files, err := lds.LoadDump(sharedtest.Dir(b, filepath.Join("emrtd-samples", bc.dir)))
			if err != nil {
				b.Fatal(err)
			}
			at := time.Date(2008, 6, 1, 0, 0, 0, 0, time.UTC)
			b.ReportAllocs()
			for b.Loop() {
				if r := PassiveAuthentication(files, &PAOpts{At: at}); r == nil {
					b.Fatal("no report")
				}
			}
		})
	}
}

// BenchmarkLoadTrustStore loads the real German and Dutch master lists with their roots.
func BenchmarkLoadTrustStore(b *testing.B) {
	dir := sharedtest.Dir(b, "trust")
	for b.Loop() {
		if _, err := pki.LoadTrustStore(dir); err != nil {
			b.Fatal(err)
		}
	}
}
