// Package document reads and authenticates an ICAO 9303 document for the kiosk: access with
// the MRZ or CAN, read the files, Passive Authentication against the trust store, Active and
// Chip Authentication where the chip offers them, and the holder fields and photo the check
// needs. It adapts drivers/emrtd to the kiosk's DocumentReader.
package document

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/edgeid/edgeid/daemon/kiosk"
	"github.com/edgeid/edgeid/drivers/emrtd"
	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
	"github.com/edgeid/edgeid/drivers/emrtd/pa"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
)

// Reader implements kiosk.DocumentReader.
type Reader struct {
	trust *pki.TrustStore
	opts  emrtd.ReadOpts
	now   func() time.Time
}

// Opts configures a Reader.
type Opts struct {
	// Trust holds the CSCAs and CRLs. It must not be empty: without a trusted CSCA no
	// document can be proven genuine, and every one would be refused.
	Trust *pki.TrustStore
	// ExtendedLength reads with extended APDUs where the reader and chip allow.
	ExtendedLength bool
	// Now is the clock certificates are checked against; time.Now when nil.
	Now func() time.Time
}

// New returns a Reader.
func New(o Opts) (*Reader, error) {
	if o.Trust == nil || o.Trust.Len() == 0 {
		return nil, errors.New("document: the trust store is empty: import CSCA certificates or master lists first (edgeid trust import)")
	}
	ro := emrtd.DefaultReadOpts()
	ro.Files = []string{"EF.COM", "DG1", "DG2", "DG14", "DG15", "EF.SOD"}
	ro.ExtendedLength = o.ExtendedLength
	ro.ChipAuthentication = true
	ro.ActiveAuthentication = true
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Reader{trust: o.Trust, opts: ro, now: o.Now}, nil
}

// Check names the kiosk uses.
const (
	CheckPassive = "passive_authentication"
	CheckActive  = "active_authentication"
	CheckChip    = "chip_authentication"
)

// ReadDocument implements kiosk.DocumentReader.
func (r *Reader) ReadDocument(ctx context.Context, card kiosk.Card, key kiosk.AccessKey) (*kiosk.Document, error) {
	k, err := accessKey(key)
	if err != nil {
		return nil, &kiosk.AccessError{Err: err}
	}
	files, info, err := emrtd.Read(ctx, card, k, &r.opts)
	switch {
	case errors.Is(err, emrtd.ErrAccessDenied):
		return nil, &kiosk.AccessError{Err: err}
	case errors.Is(err, emrtd.ErrChipAuth):
		// The chip does not hold the private key behind its own DG14: a clone.
		return &kiosk.Document{Checks: []kiosk.DocCheck{{Name: CheckChip, Status: kiosk.Fail, Reason: err.Error()}}}, nil
	case err != nil:
		return nil, err
	}
	return r.authenticate(files, info)
}

// authenticate turns what was read into the kiosk's document.
func (r *Reader) authenticate(files lds.Files, info *emrtd.ReadInfo) (*kiosk.Document, error) {
	report := pa.PassiveAuthentication(files, &pa.PAOpts{Trust: r.trust, At: r.now()})
	var challenge, response []byte
	if info != nil && info.AA != nil {
		challenge, response = info.AA.Challenge, info.AA.Signature
	}
	report.AddActiveAuthentication(files, challenge, response)

	doc := &kiosk.Document{}
	doc.Checks = append(doc.Checks, passive(report), active(report), chip(files, info))
	if ds := report.DSCertificate(); ds != nil {
		doc.SignerIssuer = ds.Issuer.Canonical()
		doc.SignerSerial = ds.SerialNumber.Bytes()
	}
	mrz, err := parseHolder(files["DG1"])
	if err != nil {
		if doc.Checks[0].Status == kiosk.Fail {
			// A forged DG1 need not even parse; the failed Passive Authentication says why.
			return doc, nil
		}
		return nil, fmt.Errorf("document: %w", err)
	}
	doc.IssuingState, doc.DocumentNumber, doc.DateOfBirth = mrz.IssuingState, mrz.DocumentNumber, mrz.DateOfBirth
	if exp, err := time.Parse("060102", mrz.DateOfExpiry); err == nil {
		doc.DateOfExpiry = exp
	}
	if b, ok := files["DG2"]; ok {
		if dg2, err := lds.ParseDG2(b); err == nil && len(dg2.Faces) > 0 {
			doc.Photo = dg2.Faces[0].Image
		}
	}
	return doc, nil
}

func parseHolder(dg1 []byte) (*mrz.MRZ, error) {
	d, err := lds.ParseDG1(dg1)
	if err != nil {
		return nil, err
	}
	return mrz.ParseMRZ(d.MRZ)
}

// passive folds the Passive Authentication checks into one. A kiosk needs them all: the
// signature, the chain to a trusted CSCA (not applicable is not enough), validity,
// revocation, and the hashes of DG1 and DG2, which the decision relies on.
func passive(rep *pa.Report) kiosk.DocCheck {
	must := []string{pa.CheckSODSignature, pa.CheckMessageDigest, pa.CheckDSValidity, pa.CheckCSCAChain,
		pa.CheckCSCAValidity, pa.CheckDGHashPrefix + "DG1", pa.CheckDGHashPrefix + "DG2"}
	for _, name := range must {
		c, ok := rep.Get(name)
		if !ok || c.Status != pa.StatusPass {
			reason := "not checked"
			if ok {
				reason = string(c.Status) + ": " + c.Reason
			}
			return kiosk.DocCheck{Name: CheckPassive, Status: kiosk.Fail, Reason: name + " " + reason}
		}
	}
	for _, c := range rep.Checks {
		if c.Status == pa.StatusFail && c.Name != pa.CheckActiveAuth {
			return kiosk.DocCheck{Name: CheckPassive, Status: kiosk.Fail, Reason: c.Name + ": " + c.Reason}
		}
	}
	return kiosk.DocCheck{Name: CheckPassive, Status: kiosk.Pass}
}

func active(rep *pa.Report) kiosk.DocCheck {
	c, ok := rep.Get(pa.CheckActiveAuth)
	if !ok {
		return kiosk.DocCheck{Name: CheckActive, Status: kiosk.NotApplicable, Reason: "not run"}
	}
	return kiosk.DocCheck{Name: CheckActive, Status: status(c.Status), Reason: c.Reason}
}

// chip is Chip Authentication: applicable when DG14 carries a chip authentication key (or
// PACE-CAM ran), passed when a response verified under the keys it set up.
func chip(files lds.Files, info *emrtd.ReadInfo) kiosk.DocCheck {
	if info != nil && (info.CAConfirmed || info.CAM == "pass") {
		return kiosk.DocCheck{Name: CheckChip, Status: kiosk.Pass}
	}
	dg14, ok := files["DG14"]
	if !ok {
		return kiosk.DocCheck{Name: CheckChip, Status: kiosk.NotApplicable, Reason: "the chip offers no Chip Authentication"}
	}
	si, err := lds.ParseSecurityInfos(dg14)
	if err != nil {
		return kiosk.DocCheck{Name: CheckChip, Status: kiosk.Fail, Reason: "DG14: " + err.Error()}
	}
	if len(si.ChipAuthKeys) == 0 {
		return kiosk.DocCheck{Name: CheckChip, Status: kiosk.NotApplicable, Reason: "DG14 holds no chip authentication key"}
	}
	reason := "not confirmed"
	if info != nil && info.CAError != "" {
		reason = info.CAError
	}
	return kiosk.DocCheck{Name: CheckChip, Status: kiosk.Fail, Reason: reason}
}

func status(s pa.Status) kiosk.CheckStatus {
	switch s {
	case pa.StatusPass:
		return kiosk.Pass
	case pa.StatusFail:
		return kiosk.Fail
	}
	return kiosk.NotApplicable
}

func accessKey(k kiosk.AccessKey) (mrz.AccessKey, error) {
	if k.CAN != "" {
		return mrz.NewCANKey(k.CAN)
	}
	return mrz.NewMRZKey(strings.ToUpper(k.DocumentNumber), k.DateOfBirth, k.DateOfExpiry)
}
