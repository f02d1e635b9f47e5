// Package pa verifies a document read from a chip, without I/O: Passive Authentication (EF.SOD
// signature, DS certificate, CSCA chain, revocation, data group hashes), EF.CardSecurity, and the
// Active Authentication signature; the result is a Report of named checks.
package pa

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
)

// Status is the outcome of one authentication check.
type Status string

// Check outcomes.
const (
	StatusPass          Status = "pass"
	StatusFail          Status = "fail"
	StatusNotApplicable Status = "not applicable"
)

// Names of the Passive Authentication checks, in the order they run.
const (
	CheckSODParse      = "sod"            // EF.SOD present and well formed
	CheckDSCertificate = "ds-certificate" // the signer's certificate is found
	CheckMessageDigest = "message-digest" // signed attributes match the LDS security object
	CheckSODSignature  = "sod-signature"  // the DS key signed the SOD
	CheckDSValidity    = "ds-validity"    // the DS certificate is valid at the check time
	CheckCSCAChain     = "csca-chain"     // a trusted CSCA issued the DS certificate
	CheckCSCAValidity  = "csca-validity"  // that CSCA certificate is valid at the check time
	CheckDSRevocation  = "ds-revocation"  // no CRL of that CSCA lists the DS certificate
	CheckDGHashPrefix  = "dg-hash "       // + "DG1": the data group's hash matches the SOD
	CheckActiveAuth    = "active-auth"    // Active Authentication
	checkDataGroups    = CheckDGHashPrefix + "*"
)

// Check is one line of a Report.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Reason string `json:"reason"`
}

// Report is the structured result of document authentication.
type Report struct {
	Checks []Check `json:"checks"`
	// At is the time certificates were checked against.
	At time.Time `json:"at"`
	// DS and CSCA describe the certificates used, when found.
	DS   string `json:"ds,omitempty"`
	CSCA string `json:"csca,omitempty"`

	dsCert, cscaCert *pki.Certificate
}

func (r *Report) add(name string, st Status, format string, a ...any) {
	r.Checks = append(r.Checks, Check{Name: name, Status: st, Reason: fmt.Sprintf(format, a...)})
}

// Passed reports whether no check failed and at least one passed: every applicable check passes.
func (r *Report) Passed() bool {
	pass := false
	for _, c := range r.Checks {
		switch c.Status {
		case StatusFail:
			return false
		case StatusPass:
			pass = true
		}
	}
	return pass
}

// Get returns the named check.
func (r *Report) Get(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// FirstFailure returns the first failed check.
func (r *Report) FirstFailure() (Check, bool) {
	for _, c := range r.Checks {
		if c.Status == StatusFail {
			return c, true
		}
	}
	return Check{}, false
}

// DSCertificate returns the document signer certificate found, or nil.
func (r *Report) DSCertificate() *pki.Certificate { return r.dsCert }

// CSCACertificate returns the trusted certificate that issued the DS certificate, or nil.
func (r *Report) CSCACertificate() *pki.Certificate { return r.cscaCert }

func (r *Report) String() string {
	var b strings.Builder
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "%-16s %-14s %s\n", c.Name, c.Status, c.Reason)
	}
	return b.String()
}

// PAOpts configures Passive Authentication.
type PAOpts struct {
	// Trust holds the CSCAs and CRLs. With an empty or nil store the chain checks are not
	// applicable (there is nothing to check against); with a non-empty store a DS
	// certificate that chains to none of its CSCAs fails.
	Trust *pki.TrustStore
	// At is the time certificate validity is checked against; zero means time.Now().
	At time.Time
}

// checkTime is the time validity is checked against: At, or now when At is zero.
func (o *PAOpts) checkTime() time.Time {
	if o.At.IsZero() {
		return time.Now()
	}
	return o.At
}

// PassiveAuthentication checks a document's files (ICAO 9303-11 section 5.1): the SOD's
// structure and signature, the DS certificate's validity, chain and revocation, and the
// hash of every data group present. A folder with only EF.SOD is valid input: the data
// group checks are then not applicable.
func PassiveAuthentication(files lds.Files, opts *PAOpts) *Report {
	if opts == nil {
		opts = &PAOpts{}
	}
	at := opts.checkTime()
	r := &Report{At: at.UTC()}
	na := func(reason string, names ...string) {
		for _, n := range names {
			r.add(n, StatusNotApplicable, "%s", reason)
		}
	}
	sodBytes, ok := files["EF.SOD"]
	if !ok {
		r.add(CheckSODParse, StatusFail, "EF.SOD is missing: nothing vouches for the data")
		na("no SOD", CheckDSCertificate, CheckMessageDigest, CheckSODSignature, CheckDSValidity, CheckCSCAChain, CheckCSCAValidity, CheckDSRevocation, checkDataGroups)
		return r
	}
	sod, err := lds.ParseSOD(sodBytes)
	if err != nil {
		r.add(CheckSODParse, StatusFail, "%v", err)
		na("SOD unreadable", CheckDSCertificate, CheckMessageDigest, CheckSODSignature, CheckDSValidity, CheckCSCAChain, CheckCSCAValidity, CheckDSRevocation, checkDataGroups)
		return r
	}
	sd := sod.SignedData
	r.add(CheckSODParse, StatusPass, "LDS security object v%d, %s hashes of %s", sod.Version, sod.HashAlgorithm, dgList(sod.Hashes))

	r.signerChecks(sd, opts, at, "SOD", "LDS security object")

	// Data groups.
	r.dataGroups(files, sod)

	// EF.CardSecurity, when read, is signed like the SOD and checked the same way.
	if cs, ok := files["EF.CardSecurity"]; ok {
		_, cr := VerifyCardSecurity(cs, &PAOpts{Trust: opts.Trust, At: at})
		for _, c := range cr.Checks {
			if c.Name != CheckCardSecurity {
				c.Name = CheckCardSecurity + " " + c.Name
			}
			r.Checks = append(r.Checks, c)
		}
	}
	return r
}

// signerChecks runs the checks on a SignedData's signer: certificate, message digest,
// signature, DS validity, chain, CSCA validity and revocation.
func (r *Report) signerChecks(sd *pki.SignedData, opts *PAOpts, at time.Time, what, content string) {
	si := &sd.Signers[0]
	var trusted []*pki.Certificate
	if opts.Trust != nil {
		trusted = opts.Trust.CSCAs()
	}
	ds := pki.FindSigner(si, sd.Certificates)
	if len(sd.Signers) > 1 {
		r.add(CheckDSCertificate, StatusFail, "%s has %d signers, want 1", what, len(sd.Signers))
		ds = nil
	} else if ds == nil {
		r.add(CheckDSCertificate, StatusFail, "%s is not among the %d certificates in the %s", si, len(sd.Certificates), what)
	} else if ds.PublicKey == nil {
		r.add(CheckDSCertificate, StatusFail, "DS certificate %s: %v", ds.Subject, ds.PublicKeyErr)
		ds = nil
	} else {
		r.dsCert = ds
		r.DS = ds.String()
		r.add(CheckDSCertificate, StatusPass, "%s, %s key", ds.Subject, pki.KeyDescription(ds.PublicKey))
	}
	if si.SignedAttrs == nil {
		r.add(CheckMessageDigest, StatusNotApplicable, "no signed attributes: the signature covers the content directly")
	} else if err := sd.CheckMessageDigest(si); err != nil {
		r.add(CheckMessageDigest, StatusFail, "%v", err)
	} else {
		r.add(CheckMessageDigest, StatusPass, "message-digest attribute matches the %s of the %s", si.DigestAlgorithm, content)
	}
	if ds == nil {
		for _, n := range []string{CheckSODSignature, CheckDSValidity, CheckCSCAChain, CheckCSCAValidity, CheckDSRevocation} {
			r.add(n, StatusNotApplicable, "no usable DS certificate")
		}
	} else {
		if err := sd.CheckSignature(si, ds); err != nil {
			r.add(CheckSODSignature, StatusFail, "%v", err)
		} else {
			s, _ := pki.ResolveSig(si.SignatureAlgorithm, si.DigestAlgorithm)
			r.add(CheckSODSignature, StatusPass, "%s by the DS key", s)
		}
		if ds.ValidAt(at) {
			r.add(CheckDSValidity, StatusPass, "valid %s to %s", day(ds.NotBefore), day(ds.NotAfter))
		} else if at.Before(ds.NotBefore) {
			r.add(CheckDSValidity, StatusFail, "DS certificate not yet valid at %s (valid from %s)", day(at), day(ds.NotBefore))
		} else {
			r.add(CheckDSValidity, StatusFail, "DS certificate expired on %s (checked at %s)", day(ds.NotAfter), day(at))
		}
		r.chain(ds, trusted, opts.Trust, at)
	}

}

func (r *Report) chain(ds *pki.Certificate, trusted []*pki.Certificate, store *pki.TrustStore, at time.Time) {
	if len(trusted) == 0 {
		reason := "no trust store given: the DS certificate's issuer " + ds.Issuer.String() + " cannot be checked"
		r.add(CheckCSCAChain, StatusNotApplicable, "%s", reason)
		r.add(CheckCSCAValidity, StatusNotApplicable, "no trust store")
		r.add(CheckDSRevocation, StatusNotApplicable, "no trust store")
		return
	}
	csca, err := pki.FindIssuer(ds, trusted)
	if err != nil {
		r.add(CheckCSCAChain, StatusFail, "no trusted CSCA issued the DS certificate (%d in the store): %v", len(trusted), err)
		r.add(CheckCSCAValidity, StatusNotApplicable, "no CSCA found")
		r.add(CheckDSRevocation, StatusNotApplicable, "no CSCA found")
		return
	}
	// Key identifiers found the issuer regardless of names: a CSCA of one country must not
	// vouch for a DS that names another country's CSCA as its issuer.
	if dc, cc := ds.Issuer.Country(), csca.Subject.Country(); dc != "" && cc != "" && dc != cc {
		r.add(CheckCSCAChain, StatusFail, "the DS certificate names a CSCA of %s but was signed by %s (%s)", dc, csca.Subject, cc)
		r.add(CheckCSCAValidity, StatusNotApplicable, "CSCA of another country")
		r.add(CheckDSRevocation, StatusNotApplicable, "CSCA of another country")
		return
	}
	r.cscaCert = csca
	r.CSCA = csca.String()
	r.add(CheckCSCAChain, StatusPass, "issued by trusted CSCA %s (from %s)", csca.Subject, store.Source(csca))
	if csca.ValidAt(at) {
		r.add(CheckCSCAValidity, StatusPass, "valid %s to %s", day(csca.NotBefore), day(csca.NotAfter))
	} else {
		r.add(CheckCSCAValidity, StatusFail, "CSCA certificate valid %s to %s, not at %s", day(csca.NotBefore), day(csca.NotAfter), day(at))
	}
	// CRLs issued by this CSCA (same name, and same key id when the CRL names one) whose
	// signature the CSCA key verifies.
	var used int
	var stale []string
	var crlErrs []error
	for _, crl := range store.CRLs() {
		if !crl.Issuer.Equal(csca.Subject) || (len(crl.AuthorityKeyID) > 0 && len(csca.SubjectKeyID) > 0 && !bytes.Equal(crl.AuthorityKeyID, csca.SubjectKeyID)) {
			continue
		}
		if err := crl.CheckSignatureFrom(csca); err != nil {
			crlErrs = append(crlErrs, fmt.Errorf("crl of %s dated %s: %w", crl.Issuer, day(crl.ThisUpdate), err))
			continue
		}
		used++
		if !crl.NextUpdate.IsZero() && at.After(crl.NextUpdate) {
			stale = append(stale, day(crl.NextUpdate))
		}
		if e, revoked := crl.IsRevoked(ds.SerialNumber); revoked {
			r.add(CheckDSRevocation, StatusFail, "DS certificate serial %X revoked on %s (CRL of %s)", ds.SerialNumber, day(e.RevokedAt), day(crl.ThisUpdate))
			return
		}
	}
	switch {
	case used > 0:
		note := ""
		if len(stale) > 0 {
			note = "; warning: CRL due for renewal since " + strings.Join(stale, ", ")
		}
		r.add(CheckDSRevocation, StatusPass, "not listed in %d CRL(s) of the CSCA%s", used, note)
	case len(crlErrs) > 0:
		r.add(CheckDSRevocation, StatusFail, "the CSCA's CRL does not verify: %v", errors.Join(crlErrs...))
	default:
		r.add(CheckDSRevocation, StatusNotApplicable, "the trust store holds no CRL of this CSCA")
	}
}

func (r *Report) dataGroups(files lds.Files, sod *lds.SOD) {
	checked := 0
	for n := 1; n <= 16; n++ {
		b, present := files[lds.DGName(n)]
		want, listed := sod.Hashes[n]
		switch {
		case !present:
			continue
		case !listed:
			// Not tampering as such (test sets and some chips hold files the SOD does not
			// list), but nothing vouches for the content: callers must not use it.
			r.add(CheckDGHashPrefix+lds.DGName(n), StatusNotApplicable, "%s is present but the SOD holds no hash for it: its content is not authenticated and must not be used", lds.DGName(n))
		default:
			h := sod.HashAlgorithm.New()
			h.Write(b)
			got := h.Sum(nil)
			if bytes.Equal(got, want) {
				r.add(CheckDGHashPrefix+lds.DGName(n), StatusPass, "%s matches the SOD", sod.HashAlgorithm)
			} else {
				r.add(CheckDGHashPrefix+lds.DGName(n), StatusFail, "%s of %s is %X, the SOD says %X: the data group was altered", sod.HashAlgorithm, lds.DGName(n), got, want)
			}
		}
		checked++
	}
	if checked == 0 {
		r.add(checkDataGroups, StatusNotApplicable, "no data group present: only the SOD was checked")
	}
}

func dgList(h map[int][]byte) string {
	var parts []string
	for n := 1; n <= 16; n++ {
		if _, ok := h[n]; ok {
			parts = append(parts, strconv.Itoa(n))
		}
	}
	return "DG" + strings.Join(parts, ",")
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }
