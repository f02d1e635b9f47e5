package kiosk

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// cameraKey plays a camera key source: it reports the search, many hold-still frames and the
// read, as fast as it can, then gives its key.
type cameraKey struct{ key AccessKey }

func (c cameraKey) AccessKey(ctx context.Context) (AccessKey, error) {
	return c.AccessKeyReporting(ctx, func(string, float64) {})
}

func (c cameraKey) AccessKeyReporting(ctx context.Context, report KeyProgress) (AccessKey, error) {
	report(KeyShowDocument, 0)
	for i := range 200 {
		report(KeyHoldStill, float64(i%5)/5)
		time.Sleep(time.Millisecond)
	}
	report(KeyRead, 1)
	return c.key, nil
}

// TestMRZChipMismatch: the chip opened with the camera's MRZ read must repeat that read in its
// DG1 (number, birth, expiry, issuer); any difference rejects the document as
// mrz_chip_mismatch, audited by its reason alone. A typed key is not compared (the person
// may have typed the CAN). The screen gets at most about five access-key events a second, the
// last one the read.
func TestMRZChipMismatch(t *testing.T) {
	read := AccessKey{DocumentNumber: "C01X00T47", DateOfBirth: "640812", DateOfExpiry: "321031", IssuingState: "UTO", Source: KeyFromCamera}
	chip := func(edit func(*Document)) *fakeDocs {
		d := &Document{IssuingState: "UTO", DocumentNumber: "C01X00T47", DateOfBirth: "640812", Photo: readFile(t, "astronaut-320.jp2"),
			Checks: passedChecks(), DateOfExpiry: time.Date(2032, 10, 31, 0, 0, 0, 0, time.UTC)}
		if edit != nil {
			edit(d)
		}
		return &fakeDocs{doc: d}
	}
	typed := read
	typed.Source, typed.IssuingState = KeyFromKeypad, ""
	tests := []struct {
		name    string
		key     AccessKey
		docs    *fakeDocs
		outcome Outcome
	}{
		{"agree", read, chip(nil), Accepted},
		{"number", read, chip(func(d *Document) { d.DocumentNumber = "C01X00T48" }), Rejected},
		{"birth", read, chip(func(d *Document) { d.DateOfBirth = "640813" }), Rejected},
		{"expiry", read, chip(func(d *Document) { d.DateOfExpiry = d.DateOfExpiry.AddDate(1, 0, 0) }), Rejected},
		{"issuer", read, chip(func(d *Document) { d.IssuingState = "D" }), Rejected},
		{"typed, not compared", typed, chip(func(d *Document) { d.IssuingState = "D" }), Accepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := setup{keys: cameraKey{tt.key}, docs: tt.docs, cam: folderCamera(t, "astronaut-shifted.jpg")}
			k, _, _ := newKiosk(t, &s)
			events, stop := k.Subscribe()
			defer stop()
			rec, err := k.RunOnce(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			mismatch := slices.Contains(rec.Reasons, ReasonMRZChipMismatch)
			if rec.Outcome != tt.outcome || mismatch != (tt.outcome == Rejected) {
				t.Fatalf("got %s %v, want %s", rec.Outcome, rec.Reasons, tt.outcome)
			}
			a := s.audit.recs[0]
			if a.AccessKey != tt.key.Source || !slices.Equal(a.Reasons, rec.Reasons) {
				t.Errorf("audited key source %q, reasons %v", a.AccessKey, a.Reasons)
			}
			var details []string
			for len(events) > 0 {
				e := <-events
				if e.Stage == StageAccessKey && e.Detail != "" {
					details = append(details, e.Detail)
				}
			}
			// 200 ms of reports: the search, one or two hold-stills, the read.
			if len(details) > 4 || details[0] != KeyShowDocument || details[len(details)-1] != KeyRead {
				t.Errorf("access-key events %v", details)
			}
			if tt.key.Source != KeyFromCamera {
				return
			}
			if strings.Contains(strings.Join(rec.Reasons, " "), "C01X00T4") {
				t.Error("a value reached the reasons")
			}
		})
	}
}
