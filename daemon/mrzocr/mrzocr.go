// Package mrzocr reads the machine-readable zone (ICAO 9303 TD1, TD2, TD3) of a document held
// to the camera: it finds the zone in a frame (rotated, in perspective, with glare or blur),
// resamples it upright, cuts its lines into cells at OCR-B's fixed pitch, classifies each cell
// against prototypes of rendered OCR-B glyphs (models/, trained by deploy/build/train-mrz),
// corrects ambiguous characters by field type and check digit, and accepts a read only when
// the emrtd parser verifies every check digit and the composite. Several frames can vote.
//
// MRZ text lives in the returned Result only: nothing here logs or stores it, and errors name
// positions and fields, never characters.
package mrzocr

import (
	"errors"
	"fmt"
	"strings"

	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
	"gocv.io/x/gocv"
)

// The emrtd surface this package uses: ParseMRZ, CheckDigit, MRZ, MRZError and the format
// names. (drivers/emrtd is being split into subpackages; only this import path moves.)

// Opts configure a Reader.
type Opts struct {
	Model  *Model     // the glyph classifier (ParseModel of models/mrz_ocrb_protos.bin)
	Decode DecodeOpts // confidence gates
	Votes  int        // frames a Session combines (1 = each frame alone)
}

// DefaultOpts returns the gates measured on synthetic sets and five voting frames; the caller
// sets Model.
func DefaultOpts() Opts { return Opts{Decode: DefaultDecodeOpts(), Votes: 5} }

// Reader reads MRZs from frames. It holds no per-frame state and may be shared.
type Reader struct {
	o Opts
}

// New validates the options.
func New(o *Opts) (*Reader, error) {
	if o == nil || o.Model == nil {
		return nil, errors.New("mrz: a classifier model is required")
	}
	if o.Votes < 1 || o.Votes > 50 {
		return nil, fmt.Errorf("mrz: votes %d out of range 1..50", o.Votes)
	}
	return &Reader{o: *o}, nil
}

// Result is an accepted read.
type Result struct {
	Format string   // mrz.TD1, TD2 or TD3
	Lines  []string // as printed, every check digit verified
	MRZ    *mrz.MRZ // parsed
	Frames int      // frames that voted for it
}

// candidate is one way of reading a located block: a format and the scores of its cells.
type candidate struct {
	format string
	scores [][]scoreRow
	mean   float32
}

// Read reads one frame on its own.
func (r *Reader) Read(img gocv.Mat) (*Result, error) {
	return r.NewSession().Add(img)
}

// formatsFor says which formats n lines may be.
func formatsFor(n int) []string {
	if n == 3 {
		return []string{mrz.TD1}
	}
	return []string{mrz.TD3, mrz.TD2}
}

func lineLen(format string) int {
	switch format {
	case mrz.TD1:
		return 30
	case mrz.TD2:
		return 36
	}
	return 44
}

// scan finds candidate blocks and scores their cells.
func (r *Reader) scan(img gocv.Mat) ([]candidate, error) {
	g, err := toGrey(img)
	if err != nil {
		return nil, err
	}
	regs, err := locate(img)
	if err != nil {
		return nil, err
	}
	var out []candidate
	for _, reg := range regs {
		crop := rectify(g, reg)
		ink := inkMap(crop)
		lines := findLines(crop, ink)
		var sets [][]textLine
		switch {
		case len(lines) == 2 || len(lines) == 3:
			sets = append(sets, lines)
		case len(lines) > 3: // text above the zone: the zone is the bottom of the page
			sets = append(sets, lines[len(lines)-3:], lines[len(lines)-2:])
		}
		for _, set := range sets {
			for _, f := range formatsFor(len(set)) {
				out = append(out, r.score(crop, ink, set, f))
			}
		}
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return out, nil
}

// shifts are the offsets, in pitches, at which a cell is tried: the pitch grid is found from
// the ink, a glyph may sit a little off it.
var shifts = [...]float64{-0.07, 0, 0.07}

func (r *Reader) score(crop *grey, ink []bool, set []textLine, format string) candidate {
	n := lineLen(format)
	c := candidate{format: format, scores: make([][]scoreRow, len(set))}
	f := make([]float32, dims)
	var sum float32
	gr := cells(crop, ink, set, n)
	for li, l := range set {
		c.scores[li] = make([]scoreRow, n)
		for i := 0; i < n; i++ {
			row := &c.scores[li][i]
			for k := range row {
				row[k] = -1
			}
			cw := gr.width(i)
			cx := recentre(crop, ink, l, gr.centre(i, 0), cw)
			for _, d := range shifts {
				if feature(crop, l, cx+d*cw, cw, f) {
					r.o.Model.scores(f, row[:])
				}
			}
			m := float32(-1)
			for _, v := range row {
				m = max(m, v)
			}
			sum += m
		}
	}
	c.mean = sum / float32(len(set)*n)
	return c
}

// Session combines successive frames of one document: each frame's cell scores are averaged
// with the previous frames' (up to Opts.Votes) before decoding, so a character blurred or
// glared in one frame is read from the others. A Session is used by one goroutine.
type Session struct {
	r      *Reader
	frames [][]candidate // newest last
}

// NewSession starts a vote.
func (r *Reader) NewSession() *Session { return &Session{r: r} }

// Reset forgets the frames so far (another document).
func (s *Session) Reset() { s.frames = nil }

// Add reads a frame and, with the frames before it, returns an accepted read or why there is
// none: ErrNotFound, or an error wrapping ErrUnsure.
func (s *Session) Add(img gocv.Mat) (*Result, error) {
	cands, err := s.r.scan(img)
	if err != nil {
		return nil, err
	}
	s.frames = append(s.frames, cands)
	if len(s.frames) > s.r.o.Votes {
		s.frames = s.frames[len(s.frames)-s.r.o.Votes:]
	}
	var firstErr error
	// This frame alone, best candidate first; then the vote of the frames.
	for _, c := range byMean(cands) {
		lines, err := decode(c.format, c.scores, s.r.o.Decode)
		if err == nil {
			return result(c.format, lines, 1)
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if len(s.frames) > 1 {
		for _, f := range []string{mrz.TD3, mrz.TD1, mrz.TD2} {
			avg, n := s.vote(f)
			if n < 2 {
				continue
			}
			if lines, err := decode(f, avg, s.r.o.Decode); err == nil {
				return result(f, lines, n)
			}
		}
	}
	return nil, firstErr
}

// vote averages, per format, the best candidate of each frame that has one.
func (s *Session) vote(format string) ([][]scoreRow, int) {
	var acc [][]scoreRow
	n := 0
	for _, cands := range s.frames {
		var b *candidate
		for i := range cands {
			if cands[i].format == format && (b == nil || cands[i].mean > b.mean) {
				b = &cands[i]
			}
		}
		if b == nil {
			continue
		}
		if acc == nil {
			acc = make([][]scoreRow, len(b.scores))
			for l := range acc {
				acc[l] = make([]scoreRow, len(b.scores[l]))
			}
		}
		for l := range acc {
			for c := range acc[l] {
				for k := range acc[l][c] {
					acc[l][c][k] += b.scores[l][c][k]
				}
			}
		}
		n++
	}
	for l := range acc {
		for c := range acc[l] {
			for k := range acc[l][c] {
				acc[l][c][k] /= float32(n)
			}
		}
	}
	return acc, n
}

func byMean(c []candidate) []candidate {
	out := append([]candidate(nil), c...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].mean > out[j-1].mean; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func result(format string, lines []string, frames int) (*Result, error) {
	m, err := mrz.ParseMRZ(strings.Join(lines, "\n"))
	if err != nil { // decode parsed it already
		return nil, fmt.Errorf("%w: the read does not parse", ErrUnsure)
	}
	return &Result{Format: format, Lines: lines, MRZ: m, Frames: frames}, nil
}

// Sample is one training cell: the features of the cell at the position of a known
// character, cut by the reader's own locating and segmentation.
type Sample struct {
	Class    uint8 // index into Alphabet
	Features []float32
}

// TrainingSamples locates and segments a frame whose MRZ lines are known and returns one
// sample per character; it fails when the reader's geometry does not find those lines, so
// the training sees cells exactly as reading does.
func TrainingSamples(img gocv.Mat, truth []string) ([]Sample, error) {
	g, err := toGrey(img)
	if err != nil {
		return nil, err
	}
	regs, err := locate(img)
	if err != nil {
		return nil, err
	}
	for _, reg := range regs {
		crop := rectify(g, reg)
		ink := inkMap(crop)
		lines := findLines(crop, ink)
		if len(lines) != len(truth) {
			continue
		}
		var out []Sample
		gr := cells(crop, ink, lines, len(truth[0]))
		for li, l := range lines {
			for i := 0; i < len(truth[li]); i++ {
				cw := gr.width(i)
				cx := recentre(crop, ink, l, gr.centre(i, 0), cw)
				for _, d := range shifts {
					f := make([]float32, dims)
					if feature(crop, l, cx+d*cw, cw, f) {
						out = append(out, Sample{Class: uint8(strings.IndexByte(Alphabet, truth[li][i])), Features: f})
					}
				}
			}
		}
		return out, nil
	}
	return nil, ErrNotFound
}

// Guess returns the best unverified reading of a frame (the most likely candidate's
// characters, by field type, no corrections or gates) for measuring character accuracy in
// evaluations. It is never a read to act on; nil when no MRZ-like block is found.
func (r *Reader) Guess(img gocv.Mat) []string {
	cands, err := r.scan(img)
	if err != nil {
		return nil
	}
	c := byMean(cands)[0]
	lay := layouts[c.format]
	out := make([]string, len(c.scores))
	for l := range c.scores {
		b := make([]byte, len(c.scores[l]))
		for i := range b {
			b[i], _ = best(c.scores[l][i], lay[l][i], 0)
		}
		out[l] = string(b)
	}
	return out
}
