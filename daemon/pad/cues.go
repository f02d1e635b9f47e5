package pad

import (
	"errors"
	"fmt"
	"image"
	"math"
	"strings"

	"github.com/edgeid/edgeid/daemon/face"
	"gocv.io/x/gocv"
)

// A Cue measures one artefact of a presented photo or screen in a single camera frame: higher
// means more like an attack. The kiosk measures every cue of its Suite on each kept frame as it
// arrives and keeps only the numbers (Frame.Cues), never the image; a CueCheck then judges the
// whole capture. A trained PAD model scoring single frames plugs in here as another Cue.
type Cue interface {
	Name() string
	Measure(img gocv.Mat, f face.Face) (float64, error)
}

// MeasureCues runs each cue on one frame. A cue that cannot measure this frame (face at the
// image edge, too small) is left out of the map rather than guessed.
func MeasureCues(img gocv.Mat, f face.Face, cues []Cue) map[string]float64 {
	out := make(map[string]float64, len(cues))
	for _, c := range cues {
		if v, err := c.Measure(img, f); err == nil {
			out[c.Name()] = v
		}
	}
	return out
}

// CueCheck judges a capture by the median of one cue over its frames, so that a single odd
// frame (a reflection passing, a door frame lining up for a moment) decides nothing.
type CueCheck struct {
	Cue       string  // the cue's name, as in Frame.Cues
	Threshold float64 // the median must stay below it
	MinFrames int     // fewer measured frames than this cannot pass
	Explain   string  // what a failure means, for the reason
}

// Name implements Check.
func (c CueCheck) Name() string { return c.Cue }

// Score implements Check: the value is the cue's median over the measured frames.
func (c CueCheck) Score(frames []Frame, _ Challenge) Score {
	s := Score{Check: c.Cue, Threshold: c.Threshold}
	var vs []float64
	for _, f := range frames {
		if v, ok := f.Cues[c.Cue]; ok && !math.IsNaN(v) {
			vs = append(vs, v)
		}
	}
	if len(vs) < max(c.MinFrames, 1) {
		s.Reason = fmt.Sprintf("measured on %d frames, %d needed", len(vs), max(c.MinFrames, 1))
		return s
	}
	s.Value = median(vs)
	s.Pass = s.Value < c.Threshold
	if !s.Pass {
		s.Reason = fmt.Sprintf("%s (median %.3f over %d frames)", c.Explain, s.Value, len(vs))
	}
	return s
}

// errNoRegion: the face's surroundings are too small or outside the image to measure.
var errNoRegion = errors.New("pad: the region around the face is too small to measure")

// roi is the face box grown by gx face widths on the left and right, up face heights above and
// down below, clipped to the image; empty when the box is not a finite, positive rectangle of
// at least minSide pixels.
func roi(img gocv.Mat, f face.Face, gx, up, down, minSide float64) image.Rectangle {
	for _, v := range []float64{f.X, f.Y, f.W, f.H} {
		if math.IsNaN(v) || math.Abs(v) > 1e6 {
			return image.Rectangle{}
		}
	}
	if f.W < minSide || f.H < minSide {
		return image.Rectangle{}
	}
	r := image.Rect(int(f.X-gx*f.W), int(f.Y-up*f.H), int(math.Ceil(f.X+f.W+gx*f.W)), int(math.Ceil(f.Y+f.H+down*f.H)))
	return r.Intersect(image.Rect(0, 0, img.Cols(), img.Rows()))
}

func grey(m gocv.Mat) gocv.Mat {
	g := gocv.NewMat()
	switch m.Channels() {
	case 3:
		gocv.CvtColor(m, &g, gocv.ColorBGRToGray)
	case 4:
		gocv.CvtColor(m, &g, gocv.ColorBGRAToGray)
	default:
		m.CopyTo(&g)
	}
	return g
}

// BorderCue looks for the straight edges of a photo or a phone around the face: long
// straight segments beside, above and below the face box, each covering most of the face's
// extent along that side. The value is the share of the four sides closed by such an edge;
// without one below the face it counts at most two sides, because a real person's neck and
// body continue below the face while the background (a door frame, a window behind the head)
// can line the other sides.
type BorderCue struct {
	Reach    float64 // how far beside and above the face box to look, in face sizes
	Below    float64 // how far below: a portrait shows the shoulders, its edge lies lower
	Coverage float64 // the share of the face's extent a side's edge must span
}

// DefaultBorderCue looks 2.5 face sizes beside and above the face and 3.5 below (a
// head-and-shoulders print held up with a face just large enough for the quality gates has its
// edges that far out), for edges spanning 60% of the face.
func DefaultBorderCue() BorderCue { return BorderCue{Reach: 2.5, Below: 3.5, Coverage: 0.6} }

// Name implements Cue.
func (BorderCue) Name() string { return NameBorder }

// Sides a border can close, in the order BorderSides reports them.
const (
	sideLeft = iota
	sideRight
	sideTop
	sideBottom
)

// Measure implements Cue.
func (c BorderCue) Measure(img gocv.Mat, f face.Face) (float64, error) {
	sides, err := c.Sides(img, f)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range sides {
		if s {
			n++
		}
	}
	if !sides[sideBottom] {
		n = min(n, 2)
	}
	return float64(n) / 4, nil
}

// Sides reports which of left, right, top and bottom of the face have a straight edge.
func (c BorderCue) Sides(img gocv.Mat, f face.Face) ([4]bool, error) {
	var sides [4]bool
	r := roi(img, f, c.Reach, c.Reach, c.Below, 16)
	if r.Empty() || r.Dx() < int(f.W) || r.Dy() < int(f.H) {
		return sides, errNoRegion
	}
	region := img.Region(r)
	defer region.Close()
	g := grey(region)
	defer g.Close()
	gocv.GaussianBlur(g, &g, image.Pt(5, 5), 0, 0, gocv.BorderReplicate)
	edges := gocv.NewMat()
	defer edges.Close()
	gocv.Canny(g, &edges, 40, 120)
	lines := gocv.NewMat()
	defer lines.Close()
	minLen := float32(c.Coverage * math.Min(f.W, f.H))
	gocv.HoughLinesPWithParams(edges, &lines, 1, math.Pi/180, int(minLen/2), minLen, minLen/10)

	// The face box in region coordinates, with a margin: edges of the face itself (jaw,
	// hairline) lie inside it.
	x0, y0 := f.X-float64(r.Min.X)-0.05*f.W, f.Y-float64(r.Min.Y)-0.05*f.H
	x1, y1 := x0+1.1*f.W, y0+1.1*f.H
	for i := 0; i < lines.Rows(); i++ {
		ax, ay := float64(lines.GetIntAt(i, 0)), float64(lines.GetIntAt(i, 1))
		bx, by := float64(lines.GetIntAt(i, 2)), float64(lines.GetIntAt(i, 3))
		dx, dy := math.Abs(bx-ax), math.Abs(by-ay)
		switch {
		case dy > 2.7*dx: // within 20 degrees of vertical
			l, r := beside(ay, by, ax, bx, y0, y1, x0, x1, c.Coverage)
			sides[sideLeft], sides[sideRight] = sides[sideLeft] || l, sides[sideRight] || r
		case dx > 2.7*dy: // within 20 degrees of horizontal
			t, b := beside(ax, bx, ay, by, x0, x1, y0, y1, c.Coverage)
			sides[sideTop], sides[sideBottom] = sides[sideTop] || t, sides[sideBottom] || b
		}
	}
	return sides, nil
}

// beside places a segment that runs from p to q along one axis, at a and b across it: whether
// it spans coverage of the face's extent [lo, hi] along the axis and lies wholly before near or
// wholly after far across it.
func beside(p, q, a, b, lo, hi, near, far, coverage float64) (before, after bool) {
	if overlap(p, q, lo, hi) < coverage*(hi-lo) {
		return false, false
	}
	return math.Max(a, b) < near, math.Min(a, b) > far
}

// overlap is the length shared by the intervals [a, b] (either order) and [lo, hi].
func overlap(a, b, lo, hi float64) float64 {
	if a > b {
		a, b = b, a
	}
	return math.Max(0, math.Min(b, hi)-math.Max(a, lo))
}

// SideNames spells out a Sides result for reasons and logs.
func SideNames(s [4]bool) string {
	var out []string
	for i, name := range []string{"left", "right", "top", "bottom"} {
		if s[i] {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ",")
}

// MoireCue looks for the beat between a screen's pixel grid and the camera's: a sharp peak in
// the spectrum of the face, far above the spectrum's average at the same frequency radius.
// Skin, hair and the features spread their energy over many frequencies; a grating puts it in
// one pair of bins. The value is the highest peak-to-ring-average ratio in the mid and high
// frequencies.
type MoireCue struct {
	Size    int // the face is resampled to Size x Size before the transform
	MinRing int // lowest frequency radius examined, in cycles per face
}

// DefaultMoireCue examines 4 to 60 cycles across the face.
func DefaultMoireCue() MoireCue { return MoireCue{Size: 128, MinRing: 4} }

// Name implements Cue.
func (MoireCue) Name() string { return NameMoire }

// Measure implements Cue.
func (c MoireCue) Measure(img gocv.Mat, f face.Face) (float64, error) {
	r := roi(img, f, 0, 0, 0, 24)
	if r.Empty() || r.Dx() < int(0.9*f.W) || r.Dy() < int(0.9*f.H) {
		return 0, errNoRegion
	}
	region := img.Region(r)
	defer region.Close()
	g := grey(region)
	defer g.Close()
	n := c.Size
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(g, &small, image.Pt(n, n), 0, 0, gocv.InterpolationArea)
	fl := gocv.NewMat()
	defer fl.Close()
	small.ConvertTo(&fl, gocv.MatTypeCV32F)
	px, err := fl.DataPtrFloat32()
	if err != nil {
		return 0, err
	}
	// Remove the mean and taper the edges (Hann window) so the borders do not ring.
	mean := 0.0
	for _, v := range px {
		mean += float64(v)
	}
	mean /= float64(len(px))
	for y := 0; y < n; y++ {
		wy := 0.5 - 0.5*math.Cos(2*math.Pi*float64(y)/float64(n-1))
		for x := 0; x < n; x++ {
			wx := 0.5 - 0.5*math.Cos(2*math.Pi*float64(x)/float64(n-1))
			px[y*n+x] = float32((float64(px[y*n+x]) - mean) * wx * wy)
		}
	}
	spec := gocv.NewMat()
	defer spec.Close()
	gocv.DFT(fl, &spec, gocv.DftComplexOutput)
	parts := gocv.Split(spec)
	mag := gocv.NewMat()
	defer mag.Close()
	gocv.Magnitude(parts[0], parts[1], &mag)
	for _, p := range parts {
		p.Close()
	}
	m, err := mag.DataPtrFloat32()
	if err != nil {
		return 0, err
	}
	// Average magnitude per integer radius (frequencies folded to -n/2..n/2). Frequencies the
	// camera did not resolve (a small face is enlarged to n x n) hold only interpolation
	// residue and are left out.
	half := n / 2
	top := min(half-2, int(0.8*math.Min(f.W, f.H)/2))
	if top <= c.MinRing {
		return 0, errNoRegion
	}
	sum := make([]float64, half+1)
	cnt := make([]int, half+1)
	radius := func(u, v int) int {
		if u > half {
			u -= n
		}
		if v > half {
			v -= n
		}
		return int(math.Round(math.Hypot(float64(u), float64(v))))
	}
	for v := 0; v < n; v++ {
		for u := 0; u < n; u++ {
			if k := radius(u, v); k <= half {
				sum[k] += float64(m[v*n+u])
				cnt[k]++
			}
		}
	}
	peak := 0.0
	for v := 0; v < n; v++ {
		for u := 0; u < n; u++ {
			k := radius(u, v)
			if k < c.MinRing || k > top || sum[k] == 0 {
				continue
			}
			peak = math.Max(peak, float64(m[v*n+u])*float64(cnt[k])/sum[k])
		}
	}
	return peak, nil
}

// GlareCue looks for a specular reflection on a glossy print or a screen: the largest
// connected patch of near-white, saturated pixels on and around the face, as a share of the
// face's area. Skin highlights are small; glasses can reflect a lamp, which is why this cue is
// weighed on its own and may be left out of the required checks.
type GlareCue struct {
	Level int     // a pixel is glare when its darkest channel is at least this
	Grow  float64 // the face box grown (or, negative, shrunk) by this many face sizes per side
}

// DefaultGlareCue counts pixels whose every channel is at least 245, inside the face box
// shrunk by a tenth on each side: a bright wall behind the head is not glare.
func DefaultGlareCue() GlareCue { return GlareCue{Level: 245, Grow: -0.1} }

// Name implements Cue.
func (GlareCue) Name() string { return NameGlare }

// Measure implements Cue.
func (c GlareCue) Measure(img gocv.Mat, f face.Face) (float64, error) {
	r := roi(img, f, c.Grow, c.Grow, c.Grow, 16)
	if r.Empty() {
		return 0, errNoRegion
	}
	region := img.Region(r)
	defer region.Close()
	// The darkest channel: white glare is bright in all three, a red or yellow surface is not.
	darkest := grey(region)
	defer darkest.Close()
	if region.Channels() >= 3 {
		ch := gocv.Split(region)
		ch[0].CopyTo(&darkest)
		for _, o := range ch[1:3] {
			gocv.Min(darkest, o, &darkest)
		}
		for _, m := range ch {
			m.Close()
		}
	}
	mask := gocv.NewMat()
	defer mask.Close()
	gocv.Threshold(darkest, &mask, float32(c.Level-1), 255, gocv.ThresholdBinary)
	labels, stats, centroids := gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
	defer labels.Close()
	defer stats.Close()
	defer centroids.Close()
	n := gocv.ConnectedComponentsWithStats(mask, &labels, &stats, &centroids)
	largest := 0
	for i := 1; i < n; i++ { // label 0 is the background
		largest = max(largest, int(stats.GetIntAt(i, int(gocv.CC_STAT_AREA))))
	}
	return float64(largest) / (f.W * f.H), nil
}
