package main

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"

	"github.com/edgeid/edgeid/daemon/face"
	"github.com/edgeid/edgeid/daemon/match"
	"gocv.io/x/gocv"
)

// The chip-photo protocol's portrait: 240x320 as the project's DG2 generator makes them, the
// face about half the width, the eyes a little above the middle (ICAO 9303 / ISO 19794-5 token
// proportions), stored as JPEG2000 of about 14 KB as passport chips hold them.
const (
	chipWidth, chipHeight = 240, 320
	chipEyeLine           = 0.42 // eye height from the top, fraction of the height
	chipBytes             = 14 << 10
	jp2CompressionX1000   = 272 // cv::IMWRITE_JPEG2000_COMPRESSION_X1000 (gocv 0.31 lacks the name)
)

// chipTemplate turns an image into the chip photo a passport would carry and returns the
// template of that photo, decoded through the same guarded decoder as a real DG2.
func chipTemplate(eng *face.Engine, path string, gates bool) (match.Template, error) {
	img, _, err := loadImage(path)
	if err != nil {
		return match.Template{}, err
	}
	defer img.Close()
	a, err := eng.Analyze(img, gates)
	if err != nil {
		return match.Template{}, err
	}
	portrait, err := icaoPortrait(img, a.Face)
	if err != nil {
		return match.Template{}, err
	}
	defer portrait.Close()
	jp2, err := encodeJP2(portrait, chipBytes)
	if err != nil {
		return match.Template{}, err
	}
	dec, _, err := face.Decode(jp2, face.DefaultLimits(), path+" (chip)")
	if err != nil {
		return match.Template{}, err
	}
	defer dec.Close()
	b, err := eng.Analyze(dec, gates)
	if err != nil {
		return match.Template{}, err
	}
	return b.Template, nil
}

// icaoPortrait crops and scales img so that the face is half the portrait's width, centred,
// eyes on the eye line; pixels beyond the image repeat its edge.
func icaoPortrait(img gocv.Mat, f face.Face) (gocv.Mat, error) {
	if f.W <= 0 {
		return gocv.Mat{}, errors.New("chip photo: no face box")
	}
	s := chipWidth / 2 / f.W
	ex := (f.Landmarks[face.RightEye].X + f.Landmarks[face.LeftEye].X) / 2
	ey := (f.Landmarks[face.RightEye].Y + f.Landmarks[face.LeftEye].Y) / 2
	src := img
	if s < 1 { // shrink with area averaging first, as a photo studio's export would
		small := gocv.NewMat()
		defer small.Close()
		gocv.Resize(img, &small, image.Pt(max(1, int(float64(img.Cols())*s+0.5)), max(1, int(float64(img.Rows())*s+0.5))), 0, 0, gocv.InterpolationArea)
		sx, sy := float64(small.Cols())/float64(img.Cols()), float64(small.Rows())/float64(img.Rows())
		ex, ey, s = ex*sx, ey*sy, s/sx
		src = small
	}
	m := gocv.NewMatWithSize(2, 3, gocv.MatTypeCV64F)
	defer m.Close()
	for i, v := range [6]float64{s, 0, chipWidth/2 - s*ex, 0, s, chipEyeLine*chipHeight - s*ey} {
		m.SetDoubleAt(i/3, i%3, v)
	}
	out := gocv.NewMat()
	gocv.WarpAffineWithParams(src, &out, m, image.Pt(chipWidth, chipHeight), gocv.InterpolationLinear, gocv.BorderReplicate, color.RGBA{})
	return out, nil
}

// encodeJP2 encodes img as JPEG2000 at the finest compression that stays within limit bytes.
func encodeJP2(img gocv.Mat, limit int) ([]byte, error) {
	var best []byte
	lo, hi := 1, 1000
	for lo <= hi {
		mid := (lo + hi) / 2
		buf, err := gocv.IMEncodeWithParams(gocv.FileExt(".jp2"), img, []int{jp2CompressionX1000, mid})
		if err != nil {
			return nil, fmt.Errorf("chip photo: jpeg2000: %w", err)
		}
		b := append([]byte(nil), buf.GetBytes()...)
		buf.Close()
		if len(b) <= limit {
			best, lo = b, mid+1
		} else {
			hi = mid - 1
		}
	}
	if best == nil {
		return nil, fmt.Errorf("chip photo: no JPEG2000 encoding fits %d bytes", limit)
	}
	return best, nil
}

// Lighting-stress variants applied to probes: side and overhead shading, strong gamma both
// ways, warm and cold colour casts, low light with sensor noise.
func relightNames() [8]string {
	return [8]string{"shade-left", "shade-right", "shade-top", "gamma-dark", "gamma-bright", "cast-warm", "cast-cold", "low-light-noise"}
}

// relitTemplate re-lights the image with variant n (mod the number of variants) and returns the
// template of the result.
func relitTemplate(eng *face.Engine, path string, n int, gates bool) (match.Template, error) {
	img, _, err := loadImage(path)
	if err != nil {
		return match.Template{}, err
	}
	defer img.Close()
	names := relightNames()
	relit, err := relight(img, n%len(names), uint64(n))
	if err != nil {
		return match.Template{}, err
	}
	defer relit.Close()
	a, err := eng.Analyze(relit, gates)
	if err != nil {
		return match.Template{}, fmt.Errorf("%s: %w", names[n%len(names)], err)
	}
	return a.Template, nil
}

// relight applies one lighting variant to a BGR image, deterministically for a seed.
func relight(img gocv.Mat, variant int, seed uint64) (gocv.Mat, error) {
	w, h := img.Cols(), img.Rows()
	px, err := img.DataPtrUint8()
	if err != nil {
		return gocv.Mat{}, err
	}
	if !img.IsContinuous() || len(px) != w*h*3 {
		return gocv.Mat{}, errors.New("relight: want a continuous BGR image")
	}
	out := make([]byte, len(px))
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	var lut [256]byte
	gamma := func(g float64) {
		for i := range lut {
			lut[i] = byte(math.Round(255 * math.Pow(float64(i)/255, g)))
		}
	}
	switch relightNames()[variant] {
	case "gamma-dark":
		gamma(2.5)
	case "gamma-bright":
		gamma(0.4)
	}
	clip := func(v float64) byte { return byte(min(max(math.Round(v), 0), 255)) }
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := 3 * (y*w + x)
			b, g, r := float64(px[i]), float64(px[i+1]), float64(px[i+2])
			switch relightNames()[variant] {
			case "shade-left", "shade-right", "shade-top":
				t := float64(x) / float64(max(w-1, 1))
				if relightNames()[variant] == "shade-right" {
					t = 1 - t
				} else if relightNames()[variant] == "shade-top" {
					t = 1 - float64(y)/float64(max(h-1, 1))
				}
				f := 0.2 + 0.9*t // a light on one side: from 20% to 110% of the level
				b, g, r = b*f, g*f, r*f
			case "gamma-dark", "gamma-bright":
				b, g, r = float64(lut[px[i]]), float64(lut[px[i+1]]), float64(lut[px[i+2]])
			case "cast-warm": // tungsten
				b, g, r = b*0.6, g*0.85, r*1.1
			case "cast-cold": // fluorescent, blue-green
				b, g, r = b*1.1, g*1.05, r*0.65
			case "low-light-noise":
				n := rng.NormFloat64() * 5
				b, g, r = b*0.4+n, g*0.4+n, r*0.4+n
			}
			out[i], out[i+1], out[i+2] = clip(b), clip(g), clip(r)
		}
	}
	return gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8UC3, out)
}
