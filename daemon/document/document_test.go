package document

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/kiosk"
	"github.com/edgeid/edgeid/drivers/emrtd/emrtdsim"
	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
)

// card puts the virtual chip where the kiosk expects a card on a reader.
type card struct{ *emrtdsim.Chip }

func (card) WaitRemoved(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
func (card) Close(context.Context) error           { return nil }

var holder = emrtdsim.Holder{IssuingState: "UTO", Surname: "TESTER", GivenNames: "ADA", DocumentNumber: "C01X00T47",
	Nationality: "UTO", DateOfBirth: "640812", Sex: "F", DateOfExpiry: "321031"}

func key() kiosk.AccessKey {
	return kiosk.AccessKey{DocumentNumber: holder.DocumentNumber, DateOfBirth: holder.DateOfBirth, DateOfExpiry: holder.DateOfExpiry}
}

func generate(t *testing.T, edit func(*emrtdsim.DocumentOpts)) (*emrtdsim.Document, kiosk.Card) {
	t.Helper()
	line, err := emrtdsim.TD3(holder)
	if err != nil {
		t.Fatal(err)
	}
	photo, err := os.ReadFile("../../testdata/face/astronaut-320.jp2")
	if err != nil {
		t.Fatal(err)
	}
	o := emrtdsim.DocumentOpts{MRZ: line, Face: photo, AAKey: emrtdsim.AAECP256}
	if edit != nil {
		edit(&o)
	}
	doc, err := emrtdsim.GenerateDocument(&o)
	if err != nil {
		t.Fatal(err)
	}
	k, err := mrz.NewMRZKey(holder.DocumentNumber, holder.DateOfBirth, holder.DateOfExpiry)
	if err != nil {
		t.Fatal(err)
	}
	co := emrtdsim.DefaultOpts()
	co.Files, co.MRZInformation, co.AAKey = doc.Files, k.MRZInformation(), doc.AAKey
	co.PACE = []emrtdsim.PACEOffer{{Cipher: "AES-128", ParamID: 13}}
	chip, err := emrtdsim.New(&co)
	if err != nil {
		t.Fatal(err)
	}
	return doc, card{chip}
}

func checks(d *kiosk.Document) string {
	var s []string
	for _, c := range d.Checks {
		s = append(s, c.Name+"="+string(c.Status))
	}
	return strings.Join(s, " ")
}

func TestReadDocument(t *testing.T) {
	doc, c := generate(t, nil)
	r, err := New(Opts{Trust: doc.Trust})
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.ReadDocument(context.Background(), c, key())
	if err != nil {
		t.Fatal(err)
	}
	if got := checks(d); got != "passive_authentication=pass active_authentication=pass chip_authentication=not_applicable" {
		t.Errorf("checks: %s", got)
	}
	if d.IssuingState != "UTO" || d.DocumentNumber != "C01X00T47" || d.DateOfExpiry.Year() != 2032 || len(d.Photo) < 1000 {
		t.Errorf("document %q %q %v, %d photo bytes", d.IssuingState, d.DocumentNumber, d.DateOfExpiry, len(d.Photo))
	}
	if d.SignerIssuer == "" || len(d.SignerSerial) == 0 {
		t.Error("no document signer identity for revocation")
	}
}

func TestReadDocumentRefusals(t *testing.T) {
	tests := []struct {
		name string
		edit func(*emrtdsim.DocumentOpts)
		want string // the passive_authentication failure
	}{
		{"forged DG2", func(o *emrtdsim.DocumentOpts) { o.Tamper = "DG2" }, "dg-hash DG2"},
		{"forged DG1", func(o *emrtdsim.DocumentOpts) { o.Tamper = "DG1" }, "dg-hash DG1"},
		{"wrong signer key", func(o *emrtdsim.DocumentOpts) { o.WrongDSKey = true }, "sod-signature"},
		{"unknown CSCA", func(o *emrtdsim.DocumentOpts) { o.UnknownCSCA = true }, "csca-chain"},
		{"expired DS", func(o *emrtdsim.DocumentOpts) { o.ExpiredDS = true }, "ds-validity"},
		{"revoked DS", func(o *emrtdsim.DocumentOpts) { o.RevokeDS = true }, "ds-revocation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, c := generate(t, tt.edit)
			r, err := New(Opts{Trust: doc.Trust})
			if err != nil {
				t.Fatal(err)
			}
			d, err := r.ReadDocument(context.Background(), c, key())
			if err != nil {
				t.Fatal(err)
			}
			pa := d.Checks[0]
			if pa.Name != CheckPassive || pa.Status != kiosk.Fail || !strings.Contains(pa.Reason, tt.want) {
				t.Errorf("passive authentication %+v, want a failure naming %s", pa, tt.want)
			}
		})
	}
}

func TestReadDocumentWrongKeyAndEmptyTrust(t *testing.T) {
	doc, c := generate(t, nil)
	r, _ := New(Opts{Trust: doc.Trust})
	wrong := key()
	wrong.DateOfBirth = "640813"
	var ae *kiosk.AccessError
	if _, err := r.ReadDocument(context.Background(), c, wrong); !errors.As(err, &ae) {
		t.Errorf("wrong key: %v, want an AccessError", err)
	}
	if _, err := r.ReadDocument(context.Background(), c, kiosk.AccessKey{CAN: "12"}); !errors.As(err, &ae) {
		t.Errorf("malformed CAN: %v, want an AccessError", err)
	}
	if _, err := New(Opts{Trust: pki.NewTrustStore()}); err == nil {
		t.Error("an empty trust store accepted")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	time.Sleep(time.Millisecond)
	if _, err := r.ReadDocument(ctx, c, key()); err == nil {
		t.Error("read with an expired context succeeded")
	}
}
