// Package face finds, checks, aligns and embeds faces: YuNet detection, quality gates from
// landmarks and pixels, similarity alignment to the recognizer's template, and the dlib ResNet
// embedding. Images live only in memory; nothing here writes a face to disk.
package face

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"sort"
	"sync"
	"time"

	"github.com/edgeid/edgeid/daemon/face/internal/cvguard"
	"github.com/edgeid/edgeid/daemon/match"
	"github.com/edgeid/edgeid/models"
	"gocv.io/x/gocv"
)

// Model ids in models/MANIFEST.json that the engine uses.
const (
	DetectorModel   = "yunet-2022mar"
	RecognizerModel = "dlib-resnet-v1"
)

// Opts configures an Engine.
type Opts struct {
	// ModelDir holds the model files named in the built-in manifest.
	ModelDir string
	// DetectScore is the minimum YuNet face score.
	DetectScore float64
	// DetectMaxSide: larger images are scaled down to this long side before detection
	// (YuNet finds faces of about 10 to 300 px).
	DetectMaxSide int
	// PadBelow: images whose short side is under this get a border of half their size before
	// detection, which YuNet needs to find a face that fills a small image.
	PadBelow int
	// Threads for OpenCV's own parallel loops; 0 leaves OpenCV's default, 1 is sequential.
	Threads int
	Gates   Gates
}

// DefaultOpts returns the options the daemon uses unless configured otherwise.
func DefaultOpts() Opts {
	return Opts{
		DetectScore:   0.7,
		DetectMaxSide: 640,
		PadBelow:      240,
		Gates:         DefaultGates(),
	}
}

// Face is one detection in source-image pixels.
type Face struct {
	X, Y, W, H float64
	Landmarks  [5]Point // see RightEye ... LeftMouth
	Score      float64
}

// Engine runs the face pipeline. Its methods are safe for concurrent use; the detector and the
// network are each used by one goroutine at a time.
type Engine struct {
	opts  Opts
	model string // recognizer id, stamped into templates
	detMu sync.Mutex
	det   *cvguard.Detector
	netMu sync.Mutex
	net   gocv.Net
}

// New loads and checks both models and returns a ready engine.
func New(o *Opts) (*Engine, error) {
	if o == nil {
		d := DefaultOpts()
		o = &d
	}
	if o.DetectScore <= 0 || o.DetectScore >= 1 {
		return nil, fmt.Errorf("face: detect score %v must be in (0, 1)", o.DetectScore)
	}
	if o.DetectMaxSide < 64 || o.PadBelow < 0 || o.Threads < 0 {
		return nil, errors.New("face: detect max side must be at least 64, pad and threads not negative")
	}
	if err := o.Gates.validate(); err != nil {
		return nil, err
	}
	man, err := models.Builtin()
	if err != nil {
		return nil, err
	}
	detModel, err := man.Get(DetectorModel)
	if err != nil {
		return nil, err
	}
	recModel, err := man.Get(RecognizerModel)
	if err != nil {
		return nil, err
	}
	detBytes, err := detModel.Load(o.ModelDir)
	if err != nil {
		return nil, err
	}
	recBytes, err := recModel.Load(o.ModelDir)
	if err != nil {
		return nil, err
	}
	if o.Threads > 0 {
		cvguard.SetNumThreads(o.Threads)
	}
	det, err := cvguard.NewDetector(detBytes, cvguard.DetectorOpts{Score: float32(o.DetectScore), NMS: 0.3, TopK: 500})
	if err != nil {
		return nil, err
	}
	net, err := gocv.ReadNetFromONNXBytes(recBytes)
	if err != nil || net.Empty() {
		det.Close()
		return nil, fmt.Errorf("face: loading %s: %v", RecognizerModel, err)
	}
	return &Engine{opts: *o, model: RecognizerModel, det: det, net: net}, nil
}

// Close frees the models.
func (e *Engine) Close() error {
	e.detMu.Lock()
	e.det.Close()
	e.detMu.Unlock()
	e.netMu.Lock()
	defer e.netMu.Unlock()
	return e.net.Close()
}

// ModelID is the recognizer id stamped into the templates this engine makes.
func (e *Engine) ModelID() string { return e.model }

// Gates returns the quality gates the engine applies.
func (e *Engine) Gates() Gates { return e.opts.Gates }

// Detect finds faces in a BGR image, largest first.
func (e *Engine) Detect(img gocv.Mat) ([]Face, error) {
	w, h := img.Cols(), img.Rows()
	if img.Empty() || img.Type() != gocv.MatTypeCV8UC3 {
		return nil, errors.New("detect: want a non-empty 8-bit BGR image")
	}
	if w < 16 || h < 16 {
		return nil, fmt.Errorf("detect: %dx%d is too small to hold a face", w, h)
	}
	src := img
	scale := 1.0
	if long := max(w, h); long > e.opts.DetectMaxSide {
		scale = float64(e.opts.DetectMaxSide) / float64(long)
		small := gocv.NewMat()
		defer small.Close()
		gocv.Resize(img, &small, image.Pt(int(float64(w)*scale+0.5), int(float64(h)*scale+0.5)), 0, 0, gocv.InterpolationArea)
		src = small
	}
	padX, padY := 0, 0
	if min(src.Cols(), src.Rows()) < e.opts.PadBelow {
		padX, padY = src.Cols()/2, src.Rows()/2
		padded := gocv.NewMat()
		defer padded.Close()
		gocv.CopyMakeBorder(src, &padded, padY, padY, padX, padX, gocv.BorderReplicate, color.RGBA{})
		src = padded
	}
	e.detMu.Lock()
	rows, err := e.det.Detect(src)
	e.detMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("detect: %w", err)
	}
	back := func(x, y float32) Point {
		return Point{(float64(x) - float64(padX)) / scale, (float64(y) - float64(padY)) / scale}
	}
	faces := make([]Face, 0, len(rows))
	for _, r := range rows {
		tl := back(r[0], r[1])
		f := Face{X: tl.X, Y: tl.Y, W: float64(r[2]) / scale, H: float64(r[3]) / scale, Score: float64(r[14])}
		for k := range f.Landmarks {
			f.Landmarks[k] = back(r[4+2*k], r[5+2*k])
		}
		faces = append(faces, f)
	}
	sort.SliceStable(faces, func(i, j int) bool { return faces[i].W*faces[i].H > faces[j].W*faces[j].H })
	return faces, nil
}

// Align warps the face onto the recognizer's 150x150 template. The caller closes the result.
func (e *Engine) Align(img gocv.Mat, f Face) (gocv.Mat, error) {
	m, err := chipTransform(f.Landmarks)
	if err != nil {
		return gocv.Mat{}, err
	}
	affine := gocv.NewMatWithSize(2, 3, gocv.MatTypeCV64F)
	defer affine.Close()
	for i, v := range [6]float64{m.A, -m.B, m.TX, m.B, m.A, m.TY} {
		affine.SetDoubleAt(i/3, i%3, v)
	}
	chip := gocv.NewMat()
	gocv.WarpAffineWithParams(img, &chip, affine, image.Pt(ChipSize, ChipSize), gocv.InterpolationLinear, gocv.BorderConstant, color.RGBA{})
	return chip, nil
}

// Embed computes the template of an aligned 150x150 BGR chip.
func (e *Engine) Embed(chip gocv.Mat) (match.Template, error) {
	if chip.Cols() != ChipSize || chip.Rows() != ChipSize || chip.Type() != gocv.MatTypeCV8UC3 {
		return match.Template{}, fmt.Errorf("embed: want a %dx%d BGR chip", ChipSize, ChipSize)
	}
	// The network wants RGB, (pixel - mean) / 256, mean given here in R, G, B order.
	blob := gocv.BlobFromImage(chip, 1.0/256, image.Pt(ChipSize, ChipSize), gocv.NewScalar(122.782, 117.001, 104.298, 0), true, false)
	defer blob.Close()
	e.netMu.Lock()
	e.net.SetInput(blob, "")
	out := e.net.Forward("")
	e.netMu.Unlock()
	defer out.Close()
	v, err := out.DataPtrFloat32()
	if err != nil {
		return match.Template{}, fmt.Errorf("embed: %w", err)
	}
	if len(v) != 128 {
		return match.Template{}, fmt.Errorf("embed: network gave %d values, want 128", len(v))
	}
	t := match.Template{Model: e.model, Vector: append([]float32(nil), v...)}
	if _, err := t.MarshalBinary(); err != nil { // rejects NaN or infinite output
		return match.Template{}, fmt.Errorf("embed: %w", err)
	}
	return t, nil
}

// Timings are per-stage wall times of one Analyze call.
type Timings struct {
	Detect, Quality, Align, Embed time.Duration
}

// Analysis is the outcome of running the pipeline on one image.
type Analysis struct {
	Faces    []Face // all detections, largest first
	Face     Face   // the one analysed (the largest)
	Quality  Quality
	Template match.Template // empty when Quality has problems and gates are enforced
	Timings  Timings
}

// ErrNoFace is returned when the detector finds nothing.
var ErrNoFace = errors.New("no face found")

// QualityError lists the gates an image failed.
type QualityError struct{ Problems []Problem }

func (e *QualityError) Error() string {
	s := "face not usable:"
	for i, p := range e.Problems {
		if i > 0 {
			s += ";"
		}
		s += " " + p.String()
	}
	return s
}

// Analyze detects, checks, aligns and embeds the largest face in img. With enforce set, a face
// that fails a quality gate gives a *QualityError (and the analysis so far) instead of a template.
func (e *Engine) Analyze(img gocv.Mat, enforce bool) (Analysis, error) {
	var a Analysis
	t0 := time.Now()
	faces, err := e.Detect(img)
	a.Timings.Detect = time.Since(t0)
	if err != nil {
		return a, err
	}
	if len(faces) == 0 {
		return a, ErrNoFace
	}
	a.Faces, a.Face = faces, faces[0]

	t0 = time.Now()
	chip, err := e.Align(img, a.Face)
	a.Timings.Align = time.Since(t0)
	if err != nil {
		return a, err
	}
	defer chip.Close()

	t0 = time.Now()
	a.Quality = e.opts.Gates.assess(img.Cols(), img.Rows(), faces, chip)
	a.Timings.Quality = time.Since(t0)
	if enforce && len(a.Quality.Problems) > 0 {
		return a, &QualityError{Problems: a.Quality.Problems}
	}

	t0 = time.Now()
	a.Template, err = e.Embed(chip)
	a.Timings.Embed = time.Since(t0)
	return a, err
}
