// Package headturn is simulation code for `make run`: from one frontal photo it synthesises
// the camera frames of that person turning their head, so that the kiosk's head-movement
// challenge can be shown without a real camera, and the frames of the same photo printed and
// held up, which the kiosk must refuse. Nothing in the kiosk or the face packages imports it.
//
// The head is a 2.5-D model: the photo is the texture of a depth map that is zero at the head's
// outline (so the head stays joined to the still background) and rises to a dome over the face,
// with a ridge for the nose placed from the detected landmarks. Turning the head by yaw shifts
// each surface point sideways by its depth times sin(yaw) (and pitch, vertically): points in
// front (the nose tip) move more than points behind (the cheeks, the outline), which is the
// parallax a flat photo cannot show. The frame is drawn by inverting that shift per pixel and
// resampling the photo with gocv.Remap.
package headturn

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/edgeid/edgeid/daemon/face"
	"gocv.io/x/gocv"
)

// Frame size of the simulated camera.
const (
	Width  = 640
	Height = 480
)

// Shape of the model, in eye distances (ied): what makes the estimated pose follow the
// commanded one. The face engine reads yaw from the nose tip's offset against the eyes over
// 0.55 ied (face.estimatePose), so the nose stands about that far in front of the eyes.
const (
	headHalfWidth  = 1.35 // the outline's half width, from the face centre
	headHalfHeight = 2.0  // the outline's half height (forehead and hair above, chin below)
	headRaise      = 0.15 // the outline's centre sits this far above the face centre
	domeDepth      = 1.3  // the dome's height at its centre
	noseDepth      = 0.3  // the nose ridge's height above the dome at the tip
	noseWidth      = 0.3  // the ridge's half width (a Gaussian's sigma)
)

// Head is a photo made into a head that can turn. Its methods are not safe for concurrent use.
type Head struct {
	scene          gocv.Mat        // the photo scaled and cropped to fill the frame: the still background
	lm             [5]face.Point   // the landmarks in scene pixels
	ied            float64         // eye distance in scene pixels
	cx, cy, ax, ay float64         // the head outline: an ellipse, in scene pixels
	bridge, tip    face.Point      // the nose ridge runs from between the eyes to the tip
	box            image.Rectangle // the pixels the head can move
}

// Detector finds faces; *face.Engine is one.
type Detector interface {
	Detect(img gocv.Mat) ([]face.Face, error)
}

// New builds a head from a photo (BGR or grey) showing one frontal face: the photo is scaled
// to cover a Width x Height frame around the face, and the face's landmarks place the model.
func New(photo gocv.Mat, det Detector) (*Head, error) {
	if photo.Empty() {
		return nil, errors.New("headturn: empty photo")
	}
	src := photo
	if photo.Channels() == 1 {
		src = gocv.NewMat()
		defer src.Close()
		gocv.CvtColor(photo, &src, gocv.ColorGrayToBGR)
	}
	faces, err := det.Detect(src)
	if err != nil {
		return nil, err
	}
	if len(faces) == 0 {
		return nil, errors.New("headturn: no face in the photo")
	}
	f := faces[0]
	// Cover the frame (no edge of the photo in view: a straight border round the face is what
	// the kiosk takes for a print), the face about a quarter of the frame wide, as at a kiosk.
	scale := math.Max(math.Max(float64(Width)/float64(src.Cols()), float64(Height)/float64(src.Rows())), 150/f.W)
	scaled := gocv.NewMat()
	defer scaled.Close()
	gocv.Resize(src, &scaled, image.Pt(0, 0), scale, scale, gocv.InterpolationArea)
	fcx, fcy := (f.X+f.W/2)*scale, (f.Y+f.H/2)*scale
	x0 := int(math.Max(0, math.Min(fcx-Width/2, float64(scaled.Cols()-Width))))
	y0 := int(math.Max(0, math.Min(fcy-Height/2, float64(scaled.Rows()-Height))))
	crop := scaled.Region(image.Rect(x0, y0, x0+Width, y0+Height))
	h := &Head{scene: crop.Clone()}
	crop.Close()
	for i, p := range f.Landmarks {
		h.lm[i] = face.Point{X: p.X*scale - float64(x0), Y: p.Y*scale - float64(y0)}
	}
	h.place()
	if h.ied < 20 {
		h.Close()
		return nil, fmt.Errorf("headturn: the face is too small (eye distance %.0f px)", h.ied)
	}
	return h, nil
}

// place sets the outline and the nose ridge from the landmarks.
func (h *Head) place() {
	re, le, nose := h.lm[face.RightEye], h.lm[face.LeftEye], h.lm[face.NoseTip]
	rm, lmo := h.lm[face.RightMouth], h.lm[face.LeftMouth]
	h.ied = math.Hypot(le.X-re.X, le.Y-re.Y)
	eyes := face.Point{X: (re.X + le.X) / 2, Y: (re.Y + le.Y) / 2}
	mouth := face.Point{X: (rm.X + lmo.X) / 2, Y: (rm.Y + lmo.Y) / 2}
	h.cx, h.cy = (eyes.X+mouth.X)/2, (eyes.Y+mouth.Y)/2-headRaise*h.ied
	h.ax, h.ay = headHalfWidth*h.ied, headHalfHeight*h.ied
	// The ridge starts a little below the eye line, where the nose leaves the brow.
	h.bridge = face.Point{X: eyes.X + 0.2*(nose.X-eyes.X), Y: eyes.Y + 0.2*(nose.Y-eyes.Y)}
	h.tip = nose
	h.box = image.Rect(int(h.cx-h.ax)-2, int(h.cy-h.ay)-2, int(h.cx+h.ax)+3, int(h.cy+h.ay)+3).Intersect(image.Rect(0, 0, Width, Height))
}

// Close releases the photo.
func (h *Head) Close() { h.scene.Close() }

// Landmarks are the photo's landmarks in frame pixels (the head at rest).
func (h *Head) Landmarks() [5]face.Point { return h.lm }

// depth is the model's height above the background plane at scene pixel (x, y), in pixels.
func (h *Head) depth(x, y float64) float64 {
	u, v := (x-h.cx)/h.ax, (y-h.cy)/h.ay
	r2 := u*u + v*v
	if r2 >= 1 {
		return 0
	}
	// The dome: (1-r^2)^2 is flat enough at the outline that the head's edge stays smooth
	// where it meets the still background.
	dome := domeDepth * (1 - r2) * (1 - r2)
	// The nose: a ridge of Gaussian cross-section along the segment from the bridge to the
	// tip, rising towards the tip and rounded off round it (the distance is to the segment).
	dx, dy := h.tip.X-h.bridge.X, h.tip.Y-h.bridge.Y
	l2 := dx*dx + dy*dy
	t := ((x-h.bridge.X)*dx + (y-h.bridge.Y)*dy) / math.Max(l2, 1)
	along := math.Max(0, math.Min(1, t))
	px, py := h.bridge.X+along*dx, h.bridge.Y+along*dy
	d2 := ((x-px)*(x-px) + (y-py)*(y-py)) / (h.ied * h.ied)
	rise := 0.3 + 0.7*along
	nose := noseDepth * rise * math.Exp(-d2/(2*noseWidth*noseWidth))
	return h.ied * (dome + nose)
}

// Frame draws the head turned by yaw and pitch degrees (positive yaw: the person turns to
// their own left, the nose moves to the image's right; positive pitch: the person looks down),
// in the conventions of pad.Move. The caller closes the result.
func (h *Head) Frame(yaw, pitch float64) (gocv.Mat, error) {
	if math.Abs(yaw) > 35 || math.Abs(pitch) > 35 || // past that the inversion (see source) diverges
		math.IsNaN(yaw+pitch) {
		return gocv.NewMat(), fmt.Errorf("headturn: pose %.0f, %.0f degrees is beyond this model", yaw, pitch)
	}
	sy, sp := math.Sin(yaw*math.Pi/180), math.Sin(pitch*math.Pi/180)
	mapX := gocv.NewMatWithSize(Height, Width, gocv.MatTypeCV32FC1)
	defer mapX.Close()
	mapY := gocv.NewMatWithSize(Height, Width, gocv.MatTypeCV32FC1)
	defer mapY.Close()
	mx, err := mapX.DataPtrFloat32()
	if err != nil {
		return gocv.NewMat(), err
	}
	my, err := mapY.DataPtrFloat32()
	if err != nil {
		return gocv.NewMat(), err
	}
	for y := 0; y < Height; y++ {
		for x := 0; x < Width; x++ {
			sx, syy := float64(x), float64(y)
			if image.Pt(x, y).In(h.box) {
				sx, syy = h.source(sx, syy, sy, sp)
			}
			mx[y*Width+x], my[y*Width+x] = float32(sx), float32(syy)
		}
	}
	out := gocv.NewMat()
	gocv.Remap(h.scene, &out, &mapX, &mapY, gocv.InterpolationLinear, gocv.BorderReplicate, color.RGBA{})
	return out, nil
}

// source inverts the turn for the frame pixel (x, y): it finds the surface point p whose
// image p + depth(p)*(sin yaw, sin pitch) lands there, by iterating p = (x, y) - depth(p)*s.
// That converges because the model's slope times sin(angle) stays under 1 (its steepest, the
// dome's flank, is about 1.5 at 30 degrees' 0.5), which also means no part of the surface
// hides another: a simplification a real nose seen from the side does not make.
func (h *Head) source(x, y, sy, sp float64) (float64, float64) {
	px, py := x, y
	for range 20 {
		d := h.depth(px, py)
		px, py = x-d*sy, y-d*sp
	}
	return px, py
}
