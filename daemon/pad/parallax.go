package pad

import (
	"errors"
	"fmt"
	"math"

	"github.com/edgeid/edgeid/daemon/face"
)

// ParallaxCheck scores how far the nose tip moves against the plane of the eyes and mouth
// corners. For each frame, the homography that takes the reference frame's four planar
// landmarks (eyes, mouth corners) onto the frame's is fitted exactly, the reference nose is
// mapped through it, and the distance to the frame's real nose is measured in eye distances.
// A photo or a screen, however it is tilted, keeps that distance at landmark noise; a real
// head turning by 15 degrees moves the nose by about a tenth of an eye distance or more.
type ParallaxCheck struct {
	MinParallax float64 // eye distances
}

// DefaultParallaxCheck is calibrated by `edgeid face pad-eval` (see README).
func DefaultParallaxCheck() ParallaxCheck { return ParallaxCheck{MinParallax: 0.08} }

// Name implements Check.
func (c ParallaxCheck) Name() string { return NameParallax }

// Score implements Check: the value is the largest parallax seen.
func (c ParallaxCheck) Score(frames []Frame, _ Challenge) Score {
	s := Score{Check: c.Name(), Threshold: c.MinParallax}
	if len(frames) < 2 {
		s.Reason = "fewer than two frames"
		return s
	}
	ref := mostFrontal(frames)
	best := 0.0
	for i, f := range frames {
		if i == ref {
			continue
		}
		p, err := Parallax(frames[ref].Analysis.Face.Landmarks, f.Analysis.Face.Landmarks)
		if err != nil {
			continue
		}
		best = math.Max(best, p)
	}
	s.Value = best
	s.Pass = best >= c.MinParallax
	if !s.Pass {
		s.Reason = fmt.Sprintf("the face moved as a flat surface (parallax %.3f eye distances)", best)
	}
	return s
}

func mostFrontal(frames []Frame) int {
	best, bestV := 0, math.Inf(1)
	for i, f := range frames {
		q := f.Analysis.Quality
		if v := math.Abs(q.Yaw) + math.Abs(q.Pitch); v < bestV {
			best, bestV = i, v
		}
	}
	return best
}

// planar are the landmarks that lie close to one plane on a face.
var planar = [4]int{face.RightEye, face.LeftEye, face.RightMouth, face.LeftMouth}

// Parallax is the distance, in eye distances of b, between b's nose tip and a's nose tip
// carried over by the homography that maps a's eyes and mouth corners onto b's.
func Parallax(a, b [5]face.Point) (float64, error) {
	var src, dst [4]face.Point
	for i, k := range planar {
		src[i], dst[i] = a[k], b[k]
	}
	h, err := homography4(src, dst)
	if err != nil {
		return 0, err
	}
	n := h.apply(a[face.NoseTip])
	ied := math.Hypot(b[face.LeftEye].X-b[face.RightEye].X, b[face.LeftEye].Y-b[face.RightEye].Y)
	if ied < 1 {
		return 0, errors.New("parallax: eyes coincide")
	}
	return math.Hypot(n.X-b[face.NoseTip].X, n.Y-b[face.NoseTip].Y) / ied, nil
}

// homography is a 3x3 projective transform with h[8] = 1.
type homography [9]float64

func (h homography) apply(p face.Point) face.Point {
	w := h[6]*p.X + h[7]*p.Y + h[8]
	return face.Point{X: (h[0]*p.X + h[1]*p.Y + h[2]) / w, Y: (h[3]*p.X + h[4]*p.Y + h[5]) / w}
}

// homography4 solves the homography that maps four points exactly (8 equations, 8 unknowns)
// by Gaussian elimination with partial pivoting.
func homography4(src, dst [4]face.Point) (homography, error) {
	var m [8][9]float64
	for i := 0; i < 4; i++ {
		x, y, u, v := src[i].X, src[i].Y, dst[i].X, dst[i].Y
		m[2*i] = [9]float64{x, y, 1, 0, 0, 0, -u * x, -u * y, u}
		m[2*i+1] = [9]float64{0, 0, 0, x, y, 1, -v * x, -v * y, v}
	}
	for col := 0; col < 8; col++ {
		piv := col
		for r := col + 1; r < 8; r++ {
			if math.Abs(m[r][col]) > math.Abs(m[piv][col]) {
				piv = r
			}
		}
		if math.Abs(m[piv][col]) < 1e-9 {
			return homography{}, errors.New("homography: points are degenerate")
		}
		m[col], m[piv] = m[piv], m[col]
		for r := 0; r < 8; r++ {
			if r == col {
				continue
			}
			f := m[r][col] / m[col][col]
			for k := col; k < 9; k++ {
				m[r][k] -= f * m[col][k]
			}
		}
	}
	var h homography
	for i := 0; i < 8; i++ {
		h[i] = m[i][8] / m[i][i]
	}
	h[8] = 1
	for _, v := range h {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return homography{}, errors.New("homography: not finite")
		}
	}
	return h, nil
}
