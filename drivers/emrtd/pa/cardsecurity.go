package pa

import (
	"encoding/asn1"

	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
)

// CheckCardSecurity names the check of EF.CardSecurity's structure.
const CheckCardSecurity = "card-security"

// oidSecurityObject is id-SecurityObject (BSI TR-03110-3), the eContentType of EF.CardSecurity.
var oidSecurityObject = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 3, 2, 1}

// VerifyCardSecurity parses EF.CardSecurity (a CMS SignedData over SecurityInfos) and checks
// its signer as Passive Authentication checks the SOD's: certificate, message digest,
// signature, DS validity, chain to a trusted CSCA, CSCA validity and revocation. The
// SecurityInfos are returned when the structure parses, even if a check fails: use them
// only when Report.Passed.
func VerifyCardSecurity(b []byte, opts *PAOpts) (*lds.SecurityInfos, *Report) {
	if opts == nil {
		opts = &PAOpts{}
	}
	at := opts.checkTime()
	r := &Report{At: at.UTC()}
	fail := func(format string, a ...any) (*lds.SecurityInfos, *Report) {
		r.add(CheckCardSecurity, StatusFail, format, a...)
		for _, n := range []string{CheckDSCertificate, CheckMessageDigest, CheckSODSignature, CheckDSValidity, CheckCSCAChain, CheckCSCAValidity, CheckDSRevocation} {
			r.add(n, StatusNotApplicable, "EF.CardSecurity unreadable")
		}
		return nil, r
	}
	sd, err := pki.ParseChipSignedData(b)
	if err != nil {
		return fail("%v", err)
	}
	if !sd.ContentType.Equal(oidSecurityObject) {
		return fail("eContentType %v is not id-SecurityObject", sd.ContentType)
	}
	infos, err := lds.ParseSecurityInfos(sd.Content)
	if err != nil {
		return fail("content: %v", err)
	}
	r.add(CheckCardSecurity, StatusPass, "%d PACE, %d chip authentication, %d key infos", len(infos.PACE), len(infos.ChipAuth), len(infos.ChipAuthKeys))
	r.signerChecks(sd, opts, at, "EF.CardSecurity", "security infos")
	return infos, r
}
