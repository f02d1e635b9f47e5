package mrzsynth

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
	"gocv.io/x/gocv"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// FontDir is where Debian's fonts-ocr-b puts OCR-B.
const FontDir = "/usr/share/fonts/opentype/ocr-b"

// Font is OCR-B: the regular cut, and the "sharp" cut for the glyphs whose outlines use CFF
// operators golang.org/x/image cannot draw (flex in '8' and '<' of OCRB.otf).
type Font struct {
	cuts    []*opentype.Font
	advance float64 // advance width of a character in em
}

// LoadFont reads OCRB.otf and OCRBS.otf from dir (FontDir on Debian).
func LoadFont(dir string) (*Font, error) {
	f := &Font{}
	for _, name := range []string{"OCRB.otf", "OCRBS.otf"} {
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("ocr-b font: %w (Debian package fonts-ocr-b)", err)
		}
		cut, err := opentype.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("ocr-b font %s: %w", path, err)
		}
		f.cuts = append(f.cuts, cut)
	}
	face, err := opentype.NewFace(f.cuts[0], &opentype.FaceOptions{Size: 100, DPI: 72})
	if err != nil {
		return nil, fmt.Errorf("ocr-b font: %w", err)
	}
	defer face.Close()
	adv, ok := face.GlyphAdvance('0')
	if !ok || adv <= 0 {
		return nil, fmt.Errorf("ocr-b font: no advance for '0'")
	}
	f.advance = float64(adv) / 64 / 100
	return f, nil
}

// faces is one face per cut at a size whose character pitch is pitch pixels.
type faces []font.Face

func (f *Font) faces(pitch float64) (faces, error) {
	var fs faces
	for _, cut := range f.cuts {
		face, err := opentype.NewFace(cut, &opentype.FaceOptions{Size: pitch / f.advance, DPI: 72, Hinting: font.HintingNone})
		if err != nil {
			fs.Close()
			return nil, fmt.Errorf("ocr-b font: %w", err)
		}
		fs = append(fs, face)
	}
	return fs, nil
}

func (fs faces) Close() {
	for _, f := range fs {
		f.Close()
	}
}

// draw draws s character by character from the first cut that has each glyph; sharp picks
// the sharp cut first (a variation of the print, for training).
func (fs faces) draw(dst draw.Image, src image.Image, x, y float64, pitch float64, s string, sharp bool) {
	order := []font.Face(fs)
	if sharp {
		order = []font.Face{fs[1], fs[0]}
	}
	for j := 0; j < len(s); j++ {
		dot := fixed.Point26_6{X: fixed.Int26_6((x + float64(j)*pitch) * 64), Y: fixed.Int26_6(y * 64)}
		for _, face := range order {
			dr, mask, mp, _, ok := face.Glyph(dot, rune(s[j]))
			if ok {
				draw.DrawMask(dst, dr, src, image.Point{}, mask, mp, draw.Over)
				break
			}
		}
	}
}

// page sizes in mm (ICAO 9303 parts 4-6) and the MRZ's distance from the bottom edge.
func pageSize(format string) (w, h float64) {
	switch format {
	case mrz.TD1:
		return 85.6, 54
	case mrz.TD2:
		return 105, 74
	}
	return 125, 88
}

const (
	pitchMM   = 2.54 // 10 characters per inch
	lineMM    = 4.23 // baseline to baseline (6 lines per inch)
	bottomMM  = 3.0  // last baseline above the page's lower edge, roughly
	marginMM  = 2.5  // first character from the left edge, roughly
	pagePxPMM = 10.0 // rendering resolution of the page before the camera sees it
)

// Page renders the document's data page (or card back) with its MRZ in OCR-B at pagePxPMM.
func (f *Font) Page(r *rand.Rand, d Doc) (*image.RGBA, error) {
	wmm, hmm := pageSize(d.Type)
	w, h := int(wmm*pagePxPMM), int(hmm*pagePxPMM)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	// A pale tinted paper with a gradient and guilloche-like waves.
	base := [3]float64{200 + r.Float64()*50, 195 + r.Float64()*55, 190 + r.Float64()*60}
	tint := [3]float64{r.Float64()*40 - 20, r.Float64()*40 - 20, r.Float64()*40 - 20}
	fx, fy, ph := 0.02+r.Float64()*0.06, 0.03+r.Float64()*0.08, r.Float64()*6
	amp := 4 + r.Float64()*14
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			t := float64(x+y) / float64(w+h)
			wave := amp * math.Sin(fx*float64(x)+8*math.Sin(fy*float64(y)+ph))
			var c [3]uint8
			for k := range c {
				c[k] = clamp8(base[k] + tint[k]*t + wave)
			}
			img.SetRGBA(x, y, color.RGBA{c[0], c[1], c[2], 255})
		}
	}
	// A photo-like block and lines of small print above the MRZ.
	ph0 := image.Rect(int(0.05*float64(w)), int(0.15*float64(h)), int(0.3*float64(w)), int(0.62*float64(h)))
	g := uint8(60 + r.IntN(120))
	draw.Draw(img, ph0, &image.Uniform{color.RGBA{g, g - g/8, g - g/5, 255}}, image.Point{}, draw.Src)
	sp := pitchMM * pagePxPMM * (0.55 + r.Float64()*0.3)
	small, err := f.faces(sp)
	if err != nil {
		return nil, err
	}
	defer small.Close()
	ink := &image.Uniform{color.RGBA{uint8(20 + r.IntN(60)), uint8(20 + r.IntN(60)), uint8(40 + r.IntN(60)), 255}}
	for y := 0.2; y < 0.6; y += 0.09 + r.Float64()*0.05 {
		small.draw(img, ink, 0.36*float64(w), y*float64(h), sp, randWord(r, 3, 10)+" "+randWord(r, 2, 8), false)
	}
	// The MRZ: fixed pitch, black or near-black ink.
	pitch := pitchMM * pagePxPMM
	mrzFaces, err := f.faces(pitch)
	if err != nil {
		return nil, err
	}
	defer mrzFaces.Close()
	k := uint8(r.IntN(50))
	mrzInk := &image.Uniform{color.RGBA{k, k, k + uint8(r.IntN(20)), 255}}
	sharp := r.IntN(4) == 0
	n := len(d.Lines)
	x0 := (wmm - float64(len(d.Lines[0]))*pitchMM) / 2
	if x0 > marginMM {
		x0 = marginMM + r.Float64()*(x0-marginMM)
	}
	for i, line := range d.Lines {
		base := hmm - bottomMM - float64(n-1-i)*lineMM
		mrzFaces.draw(img, mrzInk, x0*pagePxPMM, base*pagePxPMM, pitch, line, sharp)
	}
	return img, nil
}

func clamp8(v float64) uint8 {
	switch {
	case v < 0:
		return 0
	case v > 255:
		return 255
	}
	return uint8(v + 0.5)
}

// Capture says how the camera sees the page.
type Capture struct {
	Width, Height int     // frame size
	Fill          float64 // page width as a fraction of the frame width (0.5..0.95)
	Rotate        float64 // degrees
	Perspective   float64 // corner jitter as a fraction of the page size
	Blur          float64 // Gaussian sigma in pixels
	Noise         float64 // Gaussian noise sigma in grey levels
	Glare         float64 // peak brightening of a glare spot in grey levels
}

// RandomCapture draws a hand-held capture: frames from 640x480 to 1920x1080, rotation up to
// 15 degrees, perspective, blur, noise and glare.
func RandomCapture(r *rand.Rand) Capture {
	sizes := [][2]int{{640, 480}, {800, 600}, {1024, 768}, {1280, 720}, {1600, 900}, {1920, 1080}}
	s := sizes[r.IntN(len(sizes))]
	c := Capture{Width: s[0], Height: s[1],
		Fill: 0.55 + r.Float64()*0.35, Rotate: (r.Float64()*2 - 1) * 15,
		Perspective: r.Float64() * 0.06, Blur: r.Float64() * 1.4, Noise: r.Float64() * 10}
	if r.IntN(2) == 0 {
		c.Glare = 40 + r.Float64()*100
	}
	return c
}

// Scene photographs the page: a desk-like background, the page warped by the capture's
// rotation and perspective, then blur, glare and noise. The caller closes the BGR Mat.
func Scene(r *rand.Rand, page *image.RGBA, c Capture) (gocv.Mat, error) {
	src, err := gocv.ImageToMatRGB(page)
	if err != nil {
		return gocv.Mat{}, fmt.Errorf("synthetic scene: %w", err)
	}
	defer src.Close()
	pw, ph := float64(page.Bounds().Dx()), float64(page.Bounds().Dy())
	W, H := float64(c.Width), float64(c.Height)
	scale := c.Fill * W / pw
	if ph*scale > 0.95*H { // keep a landscape page inside a 4:3 or 16:9 frame
		scale = 0.95 * H / ph
	}
	// Shrink a little more when the rotation would push corners out of the frame.
	rad := c.Rotate * math.Pi / 180
	cos, sin := math.Abs(math.Cos(rad)), math.Abs(math.Sin(rad))
	if bw := scale * (pw*cos + ph*sin); bw > 0.98*W {
		scale *= 0.98 * W / bw
	}
	if bh := scale * (pw*sin + ph*cos); bh > 0.98*H {
		scale *= 0.98 * H / bh
	}
	cx := W/2 + (r.Float64()*2-1)*0.02*W
	cy := H/2 + (r.Float64()*2-1)*0.02*H
	corners := [4][2]float64{{0, 0}, {pw, 0}, {pw, ph}, {0, ph}}
	var srcPts, dstPts []image.Point
	for _, p := range corners {
		x := (p[0]-pw/2)*scale + (r.Float64()*2-1)*c.Perspective*pw*scale
		y := (p[1]-ph/2)*scale + (r.Float64()*2-1)*c.Perspective*ph*scale
		rx := x*math.Cos(rad) - y*math.Sin(rad)
		ry := x*math.Sin(rad) + y*math.Cos(rad)
		srcPts = append(srcPts, image.Pt(int(p[0]), int(p[1])))
		dstPts = append(dstPts, image.Pt(int(cx+rx), int(cy+ry)))
	}
	sv, dv := gocv.NewPointVectorFromPoints(srcPts), gocv.NewPointVectorFromPoints(dstPts)
	defer sv.Close()
	defer dv.Close()
	m := gocv.GetPerspectiveTransform(sv, dv)
	defer m.Close()
	bgc := [3]uint8{uint8(40 + r.IntN(120)), uint8(40 + r.IntN(120)), uint8(40 + r.IntN(120))}
	dst := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(float64(bgc[0]), float64(bgc[1]), float64(bgc[2]), 0), c.Height, c.Width, gocv.MatTypeCV8UC3)
	gocv.WarpPerspectiveWithParams(src, &dst, m, image.Pt(c.Width, c.Height), gocv.InterpolationLinear, gocv.BorderTransparent, color.RGBA{})
	if c.Blur > 0.3 {
		gocv.GaussianBlur(dst, &dst, image.Pt(0, 0), c.Blur, c.Blur, gocv.BorderReplicate)
	}
	b, err := dst.DataPtrUint8()
	if err != nil {
		dst.Close()
		return gocv.Mat{}, fmt.Errorf("synthetic scene: %w", err)
	}
	gx, gy := r.Float64()*W, H*(0.3+0.7*r.Float64())
	gr := (0.08 + r.Float64()*0.2) * W
	for y := 0; y < c.Height; y++ {
		for x := 0; x < c.Width; x++ {
			add := r.NormFloat64() * c.Noise
			if c.Glare > 0 {
				dx, dy := (float64(x)-gx)/gr, (float64(y)-gy)/(gr*0.6)
				add += c.Glare * math.Exp(-(dx*dx + dy*dy))
			}
			i := (y*c.Width + x) * 3
			for k := 0; k < 3; k++ {
				b[i+k] = clamp8(float64(b[i+k]) + add)
			}
		}
	}
	return dst, nil
}

// Render draws the document's page and photographs it with the capture. The caller closes
// the BGR Mat.
func Render(r *rand.Rand, f *Font, d Doc, c Capture) (gocv.Mat, error) {
	page, err := f.Page(r, d)
	if err != nil {
		return gocv.Mat{}, err
	}
	return Scene(r, page, c)
}
