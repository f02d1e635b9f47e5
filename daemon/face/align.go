package face

import (
	"errors"
	"math"
)

// Point is a position in image pixels.
type Point struct{ X, Y float64 }

// Landmark indexes into Face.Landmarks, in YuNet's order. "Right" is the subject's right,
// which appears on the left of an unmirrored image.
const (
	RightEye = iota
	LeftEye
	NoseTip
	RightMouth
	LeftMouth
)

// ChipSize is the side of the aligned face the recognizer takes.
const ChipSize = 150

// chipTemplate is where dlib's face chip (size 150, padding 0.25) puts the five landmarks,
// derived from dlib's mean face shape (see models/README in ../shared/models).
var chipTemplate = [5]Point{
	{47.5492, 46.5990},  // right eye
	{100.4761, 46.5990}, // left eye
	{74.0127, 76.5625},  // nose tip
	{50.4149, 103.0233}, // right mouth corner
	{97.6104, 103.0233}, // left mouth corner
}

// Similarity is x' = s*R*x + t written as the 2x3 matrix [a -b tx; b a ty].
type Similarity struct{ A, B, TX, TY float64 }

// Apply maps p.
func (m Similarity) Apply(p Point) Point {
	return Point{m.A*p.X - m.B*p.Y + m.TX, m.B*p.X + m.A*p.Y + m.TY}
}

// Scale is the similarity's scale factor.
func (m Similarity) Scale() float64 { return math.Hypot(m.A, m.B) }

// estimateSimilarity fits the least-squares similarity (Umeyama 1991, without reflection) that
// maps src onto dst. In 2-D the rotation-and-scale part has the closed form used here.
func estimateSimilarity(src, dst []Point) (Similarity, error) {
	n := len(src)
	if n < 2 || n != len(dst) {
		return Similarity{}, errors.New("align: need at least two point pairs")
	}
	var sm, dm Point
	for i := range src {
		sm.X += src[i].X
		sm.Y += src[i].Y
		dm.X += dst[i].X
		dm.Y += dst[i].Y
	}
	sm.X /= float64(n)
	sm.Y /= float64(n)
	dm.X /= float64(n)
	dm.Y /= float64(n)
	// With centred points p (src) and q (dst): a = sum(p.q)/sum|p|^2, b = sum(p x q)/sum|p|^2.
	var dot, cross, norm float64
	for i := range src {
		px, py := src[i].X-sm.X, src[i].Y-sm.Y
		qx, qy := dst[i].X-dm.X, dst[i].Y-dm.Y
		dot += px*qx + py*qy
		cross += px*qy - py*qx
		norm += px*px + py*py
	}
	if norm < 1e-9 || math.IsNaN(norm) || math.IsInf(norm, 0) {
		return Similarity{}, errors.New("align: landmarks are degenerate")
	}
	a, b := dot/norm, cross/norm
	return Similarity{A: a, B: b, TX: dm.X - (a*sm.X - b*sm.Y), TY: dm.Y - (b*sm.X + a*sm.Y)}, nil
}
