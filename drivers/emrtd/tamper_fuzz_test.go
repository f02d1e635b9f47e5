package emrtd_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"

	"github.com/edgeid/edgeid/drivers/emrtd"
	"github.com/edgeid/edgeid/drivers/emrtd/emrtdsim"
	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
)

// flipper alters responses on the link: each 3-byte group of the plan names a response
// (by index), a byte offset in it, and an XOR mask.
type flipper struct {
	chip  emrtd.Transceiver
	plan  []byte
	n     int // responses seen
	flips int // bytes altered
}

func (f *flipper) Transceive(ctx context.Context, cmd []byte) ([]byte, error) {
	r, err := f.chip.Transceive(ctx, cmd)
	if err != nil {
		return nil, err
	}
	r = bytes.Clone(r)
	for i := 0; i+2 < len(f.plan); i += 3 {
		if int(f.plan[i]) == f.n && len(r) > 0 && f.plan[i+2] != 0 {
			r[int(f.plan[i+1])%len(r)] ^= f.plan[i+2]
			f.flips++
		}
	}
	f.n++
	return r, nil
}

// readTampered reads through a flipper and fails the test if altered data got through. It
// returns what was read and the flipper, for the caller to see how many responses passed and
// how many bytes were altered.
func readTampered(t *testing.T, o emrtdsim.Opts, key mrz.AccessKey, plan []byte) (lds.Files, *flipper, error) {
	t.Helper()
	chip, err := emrtdsim.New(&o)
	if err != nil {
		t.Fatal(err)
	}
	f := &flipper{chip: chip, plan: plan}
	got, _, err := emrtd.Read(context.Background(), f, key, nil)
	for name, b := range got {
		if want, ok := o.Files[name]; ok && !bytes.Equal(b, want) {
			t.Fatalf("%s altered on the link was accepted (plan %X, err %v)", name, plan, err)
		}
	}
	return got, f, err
}

// FuzzReadTamperedLink: whatever bytes an attacker flips on the link, Read returns an
// error or the chip's true files, never altered data (BAC, 3DES secure messaging; the
// AES path is TestReadTamperedLinkPACE: PACE is too slow under fuzzing instrumentation).
func FuzzReadTamperedLink(f *testing.F) {
	f.Add([]byte{6, 4, 1})
	f.Add([]byte{9, 20, 0x80, 10, 3, 1})
	f.Add([]byte{3, 0, 0xFF})
	key := mrzKey(f)
	files := testFiles(f, 700)
	f.Fuzz(func(t *testing.T, plan []byte) {
		if len(plan) > 30 {
			plan = plan[:30]
		}
		readTampered(t, emrtdsim.Opts{Files: files, MRZInformation: key.MRZInformation(), BAC: true}, key, plan)
	})
}

func TestReadTamperedLinkPACE(t *testing.T) {
	key := mrzKey(t)
	files := testFiles(t, 700)
	o := emrtdsim.Opts{Files: files, MRZInformation: key.MRZInformation(), PACE: []emrtdsim.PACEOffer{{Cipher: "AES-128", ParamID: 12}}}
	// Control: the same link with nothing flipped reads every file, in enough responses for
	// the plans below to land on one.
	got, ctl, err := readTampered(t, o, key, nil)
	if err != nil {
		t.Fatalf("untampered read: %v", err)
	}
	if ctl.n < 18 || ctl.flips != 0 {
		t.Fatalf("untampered read: %d responses, %d bytes altered; want at least 18 and none", ctl.n, ctl.flips)
	}
	for name, want := range files {
		if !bytes.Equal(got[name], want) {
			t.Fatalf("untampered read: %s differs from the chip's", name)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 12 {
		// One flip in one of the responses after PACE (5 PACE exchanges precede SM).
		plan := []byte{byte(6 + rng.IntN(12)), byte(rng.IntN(256)), byte(1 + rng.IntN(255))}
		_, f, _ := readTampered(t, o, key, plan)
		if f.flips != 1 {
			t.Fatalf("plan %X altered %d bytes, want 1", plan, f.flips)
		}
	}
}
