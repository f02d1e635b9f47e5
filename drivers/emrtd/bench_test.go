package emrtd_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/edgeid/edgeid/drivers/emrtd"
	"github.com/edgeid/edgeid/drivers/emrtd/emrtdsim"
)

// BenchmarkBAC measures BAC plus reading DG1 (both sides' CPU: the virtual chip runs in
// the same process, so the time is an upper bound for the reader's share).
func BenchmarkBAC(b *testing.B) {
	files := testFiles(b, 100)
	key := mrzKey(b)
	chip := newChip(b, emrtdsim.Opts{Files: files, MRZInformation: key.MRZInformation(), BAC: true})
	opts := &emrtd.ReadOpts{Access: emrtd.AccessBAC, Files: []string{"DG1"}}
	for b.Loop() {
		chip.Halt()
		if _, _, err := emrtd.Read(context.Background(), chip, key, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPACE measures PACE plus reading DG1 per curve, both sides in one process.
func BenchmarkPACE(b *testing.B) {
	files := testFiles(b, 100)
	key := mrzKey(b)
	for _, o := range []emrtdsim.PACEOffer{
		{Cipher: "AES-128", ParamID: 13}, {Cipher: "AES-128", ParamID: 12},
		{Cipher: "AES-192", ParamID: 16}, {Cipher: "AES-256", ParamID: 17}, {Cipher: "AES-256", ParamID: 18},
	} {
		chip := newChip(b, emrtdsim.Opts{Files: files, MRZInformation: key.MRZInformation(), PACE: []emrtdsim.PACEOffer{o}})
		opts := &emrtd.ReadOpts{Access: emrtd.AccessPACE, Files: []string{"DG1"}}
		b.Run(fmt.Sprintf("param%d-%s", o.ParamID, o.Cipher), func(b *testing.B) {
			for b.Loop() {
				chip.Halt()
				if _, _, err := emrtd.Read(context.Background(), chip, key, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadDG1DG2 reads DG1 and a 20 KB DG2 after BAC and reports the APDU count, the
// bytes on the link, and the modelled air time (bytes x 9 bits / rate) at the ISO 14443
// bit rates, next to the same with ISO 14443-4 block framing. Both leave out frame delay
// times and chip processing.
func BenchmarkReadDG1DG2(b *testing.B) {
	files := testFiles(b, 20*1024)
	key := mrzKey(b)
	for _, tc := range []struct {
		name string
		chip emrtdsim.Opts
		read emrtd.ReadOpts
	}{
		{"short-Le256", emrtdsim.Opts{}, emrtd.ReadOpts{}},
		{"short-chip-refuses-above-160", emrtdsim.Opts{RefuseLeAbove: 160}, emrtd.ReadOpts{}},
		{"extended-Le4096", emrtdsim.Opts{ExtendedLength: true, MaxLe: 4096}, emrtd.ReadOpts{ExtendedLength: true, MaxLe: 4096}},
		{"extended-Le65536", emrtdsim.Opts{ExtendedLength: true, MaxLe: 65536}, emrtd.ReadOpts{ExtendedLength: true}},
	} {
		o := tc.chip
		o.Files, o.MRZInformation, o.BAC = files, key.MRZInformation(), true
		chip := newChip(b, o)
		ro := tc.read
		ro.Access, ro.Files = emrtd.AccessBAC, []string{"DG1", "DG2"}
		b.Run(tc.name, func(b *testing.B) {
			var info *emrtd.ReadInfo
			for b.Loop() {
				chip.Halt()
				var err error
				if _, info, err = emrtd.Read(context.Background(), chip, key, &ro); err != nil {
					b.Fatal(err)
				}
			}
			l := info.Link
			b.ReportMetric(float64(l.APDUs), "apdus")
			b.ReportMetric(float64(l.BytesSent+l.BytesReceived), "linkbytes")
			for _, kbps := range []float64{106, 212, 424, 848} {
				b.ReportMetric(l.AirTime(kbps*1000)*1000, fmt.Sprintf("floor-ms@%.0fk", kbps))
				b.ReportMetric(l.FramedTime(kbps*1000)*1000, fmt.Sprintf("framed-ms@%.0fk", kbps))
			}
		})
	}
}
