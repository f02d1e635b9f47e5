// Package mrzkey is the kiosk's camera access-key source: the person holds the document's
// photo page (or the back of the ID card) to the camera, the MRZ is read with mrzocr (several
// frames vote), and the chip is opened with it once every check digit passes. The screen's
// keypad stays: a key typed at any time is taken, and the keypad alone is used after a time
// limit or when the person asks for it. It sits between kiosk and mrzocr so that the kiosk
// does not depend on the reader: kiosk <- mrzkey -> mrzocr.
//
// The MRZ read lives in memory for one check: it is never logged, and errors name no field
// of it.
package mrzkey

import (
	"context"
	"errors"
	"time"

	"github.com/edgeid/edgeid/daemon/kiosk"
	"github.com/edgeid/edgeid/daemon/mrzocr"
	"github.com/edgeid/edgeid/models"
)

// DefaultTimeout is how long the camera searches before the keypad takes over.
const DefaultTimeout = 20 * time.Second

// Source reads the access key from the camera, with the keypad as fallback.
type Source struct {
	Camera kiosk.Camera
	Reader *mrzocr.Reader
	Keypad *kiosk.KeyPad
	// Votes is the reader's vote length (mrzocr.Opts.Votes), for the progress shown.
	Votes int
	// Timeout: after this long without a read the camera gives up for the keypad
	// (DefaultTimeout when 0).
	Timeout time.Duration
	// Stats, when set, is told the frames looked at and the time spent reading them, per read.
	Stats func(s Stats)
}

// Stats describe one camera read of the MRZ.
type Stats struct {
	Frames   int           // frames read until the accepted read (or the fallback)
	Read     bool          // an MRZ was accepted
	ReadTime time.Duration // time spent in the MRZ reader, all frames
}

var _ kiosk.ReportingKeySource = (*Source)(nil)

// AccessKey reads the key without reporting progress.
func (s *Source) AccessKey(ctx context.Context) (kiosk.AccessKey, error) {
	return s.AccessKeyReporting(ctx, nil)
}

type typed struct {
	key kiosk.AccessKey
	err error
}

// AccessKeyReporting reads frames until the MRZ is read with every check digit, the person
// types a key, asks for the keypad, or the time limit passes; then only the keypad is waited
// for, until ctx ends.
func (s *Source) AccessKeyReporting(ctx context.Context, report kiosk.KeyProgress) (kiosk.AccessKey, error) {
	if s.Camera == nil || s.Reader == nil || s.Keypad == nil {
		return kiosk.AccessKey{}, errors.New("mrzkey: camera, MRZ reader and keypad are required")
	}
	if report == nil {
		report = func(string, float64) {}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the keypad's wait when the camera read first
	pad := make(chan typed, 1)
	go func() {
		k, err := s.Keypad.AccessKey(ctx)
		pad <- typed{k, err}
	}()
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	cctx, stop := context.WithTimeout(ctx, timeout)
	key, err := s.watch(cctx, pad, report)
	stop()
	switch {
	case err == nil:
		return key, nil
	case !errors.Is(err, errFallBack) && !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		return kiosk.AccessKey{}, err
	}
	report(kiosk.KeyKeypad, 0)
	select {
	case t := <-pad:
		return t.key, t.err
	case <-ctx.Done():
		return kiosk.AccessKey{}, ctx.Err()
	}
}

// errFallBack: the person asked for the keypad.
var errFallBack = errors.New("mrzkey: the person asked for the keypad")

// watch reads frames until an accepted read, a typed key, a request for the keypad or the end
// of ctx.
func (s *Source) watch(ctx context.Context, pad <-chan typed, report kiosk.KeyProgress) (kiosk.AccessKey, error) {
	sess := s.Reader.NewSession()
	defer sess.Reset() // the frames' scores hold the MRZ too
	st := Stats{}
	defer func() {
		if s.Stats != nil {
			s.Stats(st)
		}
	}()
	votes := max(s.Votes, 1)
	found := 0
	report(kiosk.KeyShowDocument, 0)
	for {
		select {
		case t := <-pad:
			return t.key, t.err
		case <-s.Keypad.Asked():
			return kiosk.AccessKey{}, errFallBack
		case <-ctx.Done():
			return kiosk.AccessKey{}, ctx.Err()
		default:
		}
		img, err := s.Camera.Read(ctx)
		if err != nil {
			select { // the camera is down or between frames: the keypad still works
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
			}
			continue
		}
		t0 := time.Now()
		res, err := sess.Add(img)
		st.ReadTime += time.Since(t0)
		st.Frames++
		img.Close()
		switch {
		case err == nil:
			st.Read = true
			report(kiosk.KeyRead, 1)
			m := res.MRZ
			return kiosk.AccessKey{DocumentNumber: m.DocumentNumber, DateOfBirth: m.DateOfBirth, DateOfExpiry: m.DateOfExpiry,
				IssuingState: m.IssuingState, Source: kiosk.KeyFromCamera}, nil
		case errors.Is(err, mrzocr.ErrNotFound):
			found = 0
			report(kiosk.KeyShowDocument, 0)
		default: // a zone is there, not yet sure of every character
			found++
			report(kiosk.KeyHoldStill, 0.9*float64(min(found, votes))/float64(votes))
		}
	}
}

// NewReader loads the MRZ classifier that man names from the folder dir and returns a reader
// with the default gates and vote (mrzocr.DefaultOpts), and the vote's length.
func NewReader(man *models.Manifest, dir string) (*mrzocr.Reader, int, error) {
	md, err := man.Get(mrzocr.ModelID)
	if err != nil {
		return nil, 0, err
	}
	b, err := md.Load(dir)
	if err != nil {
		return nil, 0, err
	}
	m, err := mrzocr.ParseModel(b)
	if err != nil {
		return nil, 0, err
	}
	o := mrzocr.DefaultOpts()
	o.Model = m
	r, err := mrzocr.New(&o)
	return r, o.Votes, err
}
