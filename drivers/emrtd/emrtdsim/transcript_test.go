package emrtdsim_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/drivers/emrtd"
	"github.com/edgeid/edgeid/drivers/emrtd/emrtdsim"
	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
)

// A PACE read recorded against the virtual chip replays byte for byte from its text form.
func TestRecordPlayback(t *testing.T) {
	key, _ := mrz.NewMRZKey("L898902C3", "740812", "120415")
	files := lds.Files{
		"EF.COM": tlv.EncodeTLV(0x60, tlv.EncodeTLV(0x5C, []byte{0x61})),
		"DG1":    tlv.EncodeTLV(0x61, bytes.Repeat([]byte{'<'}, 90)),
		"EF.SOD": tlv.EncodeTLV(0x77, bytes.Repeat([]byte{1}, 600)),
	}
	chip, err := emrtdsim.New(&emrtdsim.Opts{Files: files, MRZInformation: key.MRZInformation(), BAC: true,
		PACE: []emrtdsim.PACEOffer{{Cipher: "AES-128", ParamID: 13}}})
	if err != nil {
		t.Fatal(err)
	}
	rec := &emrtdsim.Record{T: chip}
	want, _, err := emrtd.Read(context.Background(), rec, key, &emrtd.ReadOpts{Rand: rec.RecordRand(rand.Reader)})
	if err != nil {
		t.Fatalf("recorded Read: %v", err)
	}
	var text bytes.Buffer
	if _, err := rec.Transcript().WriteTo(&text); err != nil {
		t.Fatal(err)
	}
	tr, err := emrtdsim.ParseTranscript(&text)
	if err != nil {
		t.Fatalf("ParseTranscript: %v", err)
	}
	pb := emrtdsim.NewPlayback(tr)
	got, info, err := emrtd.Read(context.Background(), pb, key, &emrtd.ReadOpts{Rand: pb.Rand()})
	if err != nil {
		t.Fatalf("replayed Read: %v", err)
	}
	if err := pb.Done(); err != nil {
		t.Error(err)
	}
	if info.Access != "PACE" {
		t.Errorf("access %s, want PACE", info.Access)
	}
	for _, n := range []string{"EF.COM", "DG1", "EF.SOD"} {
		if !bytes.Equal(got[n], want[n]) {
			t.Errorf("%s differs after replay", n)
		}
	}
	// Another key sends other commands: playback reports the deviation as an error.
	other, _ := mrz.NewMRZKey("L898902C3", "740812", "120416")
	pb = emrtdsim.NewPlayback(tr)
	if _, _, err := emrtd.Read(context.Background(), pb, other, &emrtd.ReadOpts{Rand: pb.Rand()}); err == nil || !strings.Contains(err.Error(), "playback") {
		t.Errorf("replay with another key: %v, want a playback error", err)
	}
}

func TestParseTranscriptErrors(t *testing.T) {
	for _, in := range []string{
		"> 00A4\n", // short command
		"< 9000\n", // response first
		"> 00B00000\n> 00B00000\n",
		"> 00B00000\n",       // no response
		"> 00B00000\n< 90\n", // no status word
		"rand\n",
		"? 00\n",
		"> zz\n",
	} {
		if _, err := emrtdsim.ParseTranscript(strings.NewReader(in)); err == nil {
			t.Errorf("ParseTranscript(%q) accepted", in)
		}
	}
}

func FuzzParseTranscript(f *testing.F) {
	f.Add("# comment\nrand 0102\n> 0084000008\n< 01020304050607089000\n")
	f.Add("> 00B00000\n< 9000")
	f.Fuzz(func(t *testing.T, s string) {
		tr, err := emrtdsim.ParseTranscript(strings.NewReader(s))
		if err != nil {
			return
		}
		var b bytes.Buffer
		if _, err := tr.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		back, err := emrtdsim.ParseTranscript(&b)
		if err != nil || len(back.Steps) != len(tr.Steps) {
			t.Fatalf("round trip: %v, %d vs %d steps", err, len(back.Steps), len(tr.Steps))
		}
	})
}
