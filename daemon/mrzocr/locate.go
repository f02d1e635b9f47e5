package mrzocr

import (
	"errors"
	"fmt"
	"image"
	"math"
	"sort"

	"gocv.io/x/gocv"
)

// grey is an 8-bit single-channel image in Go memory: the reader's own steps run on it.
type grey struct {
	w, h int
	pix  []byte
}

// at samples g bilinearly; outside the image it repeats the border.
func (g *grey) at(x, y float64) float32 {
	if x < 0 {
		x = 0
	} else if x > float64(g.w-1) {
		x = float64(g.w - 1)
	}
	if y < 0 {
		y = 0
	} else if y > float64(g.h-1) {
		y = float64(g.h - 1)
	}
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, g.w-1), min(y0+1, g.h-1)
	fx, fy := float32(x-float64(x0)), float32(y-float64(y0))
	p := func(x, y int) float32 { return float32(g.pix[y*g.w+x]) }
	top := p(x0, y0)*(1-fx) + p(x1, y0)*fx
	bot := p(x0, y1)*(1-fx) + p(x1, y1)*fx
	return top*(1-fy) + bot*fy
}

// region is a candidate MRZ: a rotated rectangle in frame pixels around its text lines.
type region struct {
	cx, cy float64 // centre
	w, h   float64 // along and across the lines
	angle  float64 // radians, of the lines against the x axis
}

// ErrNotFound means no MRZ-like block of text lines was found in the frame.
var ErrNotFound = errors.New("mrz: no machine-readable zone found in the frame")

const workSide = 960 // frames are searched at most this large

// toGrey converts a BGR (or grey) frame to grey in Go memory.
func toGrey(img gocv.Mat) (*grey, error) {
	if img.Empty() || img.Cols() < 32 || img.Rows() < 32 {
		return nil, fmt.Errorf("mrz: frame of %dx%d is too small", img.Cols(), img.Rows())
	}
	g := gocv.NewMat()
	defer g.Close()
	switch img.Type() {
	case gocv.MatTypeCV8UC3:
		gocv.CvtColor(img, &g, gocv.ColorBGRToGray)
	case gocv.MatTypeCV8UC1:
		img.CopyTo(&g)
	default:
		return nil, fmt.Errorf("mrz: frame pixel type %v, want 8-bit BGR or grey", img.Type())
	}
	b, err := g.DataPtrUint8()
	if err != nil {
		return nil, fmt.Errorf("mrz: frame: %w", err)
	}
	return &grey{w: g.Cols(), h: g.Rows(), pix: append([]byte(nil), b...)}, nil
}

// locate finds blocks of long, parallel, evenly spaced dark text lines, best first. Dark text
// stands out of a blackhat filter; closing along the lines joins characters into one blob per
// line; a group of 2 or 3 similar lines is an MRZ candidate.
func locate(img gocv.Mat) ([]region, error) {
	g := gocv.NewMat()
	defer g.Close()
	if img.Type() == gocv.MatTypeCV8UC3 {
		gocv.CvtColor(img, &g, gocv.ColorBGRToGray)
	} else {
		img.CopyTo(&g)
	}
	s := math.Min(1, float64(workSide)/float64(max(img.Cols(), img.Rows())))
	if s < 1 {
		gocv.Resize(g, &g, image.Pt(0, 0), s, s, gocv.InterpolationArea)
	}
	W := float64(g.Cols())
	k1 := gocv.GetStructuringElement(gocv.MorphRect, image.Pt(17, 7))
	defer k1.Close()
	gocv.MorphologyEx(g, &g, gocv.MorphBlackhat, k1)
	gocv.Threshold(g, &g, 0, 255, gocv.ThresholdBinary|gocv.ThresholdOtsu)
	kw := max(9, int(0.022*W))
	k2 := gocv.GetStructuringElement(gocv.MorphRect, image.Pt(kw, 3))
	defer k2.Close()
	gocv.MorphologyEx(g, &g, gocv.MorphClose, k2)
	k3 := gocv.GetStructuringElement(gocv.MorphRect, image.Pt(3, 3))
	defer k3.Close()
	gocv.MorphologyEx(g, &g, gocv.MorphOpen, k3)
	cs := gocv.FindContours(g, gocv.RetrievalExternal, gocv.ChainApproxSimple)
	defer cs.Close()
	type line struct {
		region
		pts []image.Point
	}
	var lines []line
	for i := 0; i < cs.Size(); i++ {
		c := cs.At(i)
		rr := gocv.MinAreaRect(c)
		w, h, a := float64(rr.Width), float64(rr.Height), float64(rr.Angle)
		if w < h {
			w, h, a = h, w, a+90
		}
		for a > 90 {
			a -= 180
		}
		for a <= -90 {
			a += 180
		}
		if w < 0.18*W || h < 3 || w/h < 5 || math.Abs(a) > 30 {
			continue
		}
		lines = append(lines, line{region{float64(rr.Center.X), float64(rr.Center.Y), w, h, a * math.Pi / 180}, c.ToPoints()})
	}
	if len(lines) == 0 {
		return nil, ErrNotFound
	}
	// Group lines of like length and direction stacked close above one another.
	used := make([]bool, len(lines))
	var regions []region
	var weights []float64
	sort.Slice(lines, func(i, j int) bool { return lines[i].cy < lines[j].cy })
	for i := range lines {
		if used[i] {
			continue
		}
		grp := []int{i}
		used[i] = true
		for j := i + 1; j < len(lines) && len(grp) < 4; j++ {
			a, b := lines[grp[len(grp)-1]], lines[j]
			if used[j] || math.Abs(a.angle-b.angle) > 0.08 || b.w/a.w < 0.8 || b.w/a.w > 1.25 {
				continue
			}
			dx, dy := b.cx-a.cx, b.cy-a.cy
			along := dx*math.Cos(a.angle) + dy*math.Sin(a.angle)
			across := -dx*math.Sin(a.angle) + dy*math.Cos(a.angle)
			if math.Abs(along) > 0.12*a.w || across < 0 || across > 3.5*math.Max(a.h, b.h) {
				continue
			}
			grp = append(grp, j)
			used[j] = true
		}
		var pts []image.Point
		for _, k := range grp {
			pts = append(pts, lines[k].pts...)
		}
		pv := gocv.NewPointVectorFromPoints(pts)
		rr := gocv.MinAreaRect(pv)
		pv.Close()
		w, h, a := float64(rr.Width), float64(rr.Height), float64(rr.Angle)
		if w < h {
			w, h, a = h, w, a+90
		}
		for a > 90 {
			a -= 180
		}
		for a <= -90 {
			a += 180
		}
		regions = append(regions, region{float64(rr.Center.X) / s, float64(rr.Center.Y) / s, w / s, h / s, a * math.Pi / 180})
		// Prefer 2-3 long lines.
		wt := w
		if len(grp) == 2 || len(grp) == 3 {
			wt *= 3
		}
		weights = append(weights, wt)
	}
	idx := make([]int, len(regions))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return weights[idx[i]] > weights[idx[j]] })
	out := make([]region, 0, 4)
	for _, i := range idx {
		if len(out) == 4 {
			break
		}
		out = append(out, regions[i])
	}
	return out, nil
}

// cropWidth is the width the MRZ's lines are resampled to (a pitch of 20 to 29 pixels).
const cropWidth = 880

// rectify resamples the region upright into a crop cropWidth wide (plus margins) with room
// above and below for a line the grouping missed.
func rectify(g *grey, r region) *grey {
	k := cropWidth / r.w
	mx := 0.1 * cropWidth // the blob may miss a faint last character
	my := math.Max(30, 0.45*r.h*k)
	cw := int(cropWidth + 2*mx)
	ch := int(r.h*k + 2*my)
	if ch > 3*cropWidth/4 {
		ch = 3 * cropWidth / 4
	}
	out := &grey{w: cw, h: ch, pix: make([]byte, cw*ch)}
	cos, sin := math.Cos(r.angle), math.Sin(r.angle)
	for v := 0; v < ch; v++ {
		dv := (float64(v) - float64(ch)/2) / k
		for u := 0; u < cw; u++ {
			du := (float64(u) - float64(cw)/2) / k
			x := r.cx + du*cos - dv*sin
			y := r.cy + du*sin + dv*cos
			out.pix[v*cw+u] = uint8(g.at(x, y) + 0.5)
		}
	}
	return out
}
