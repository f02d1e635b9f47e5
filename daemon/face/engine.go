// Package face finds, checks, aligns and embeds faces: YuNet detection, quality gates from
// landmarks and pixels, similarity alignment to each recognizer's template, and two
// embeddings (dlib ResNet and HSE FaceRes) whose distances are fused for the decision.
// Images live only in memory; nothing here writes a face to disk.
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
	DetectorModel = "yunet-2022mar"
	// RecognizerModel is the primary recognizer: Template.Model, the fleet's template key and
	// the metric of match.Distance (which links frames of one face).
	RecognizerModel = DlibModel
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
	// PadBelow: images whose short side (after scaling to DetectMaxSide) is under this get a
	// replicated border of half their size before detection, which YuNet needs to find a face
	// that fills a small image and which gives better landmarks on medium ones.
	PadBelow int
	// Dlib and FaceRes are each recognizer's test-time processing.
	Dlib, FaceRes Preprocess
	// Threads for OpenCV's own parallel loops; 0 leaves OpenCV's default, 1 is sequential.
	Threads int
	Gates   Gates
}

// DefaultOpts returns the options the daemon uses unless configured otherwise.
func DefaultOpts() Opts {
	return Opts{
		DetectScore:   0.7,
		DetectMaxSide: 640,
		// Measured on faces-dev2 scaled to camera-sized frames (README): the replicated border
		// helps at 320 px and hurts at 400 and 480 px.
		PadBelow: 360,
		// Flip TTA helps both recognizers on the dev union (make calibrate; see the README).
		Dlib:    Preprocess{Flip: true},
		FaceRes: Preprocess{Flip: true},
		Gates:   DefaultGates(),
	}
}

// Face is one detection in source-image pixels.
type Face struct {
	X, Y, W, H float64
	Landmarks  [5]Point // see RightEye ... LeftMouth
	Score      float64
}

// Engine runs the face pipeline. Its methods are safe for concurrent use; the detector and
// each network are used by one goroutine at a time.
type Engine struct {
	opts  Opts
	detMu sync.Mutex
	det   *cvguard.Detector
	recs  []*recognizer // the primary (dlib) first
	// fusion and the thresholds come from the manifest; nil before the first make calibrate.
	fusion         *match.Fusion
	accept, reject float64
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
	if o.Threads > 0 {
		cvguard.SetNumThreads(o.Threads)
	}
	detMap, err := detModel.Map(o.ModelDir)
	if err != nil {
		return nil, err
	}
	det, err := cvguard.NewDetector(detMap.Bytes(), cvguard.DetectorOpts{Score: float32(o.DetectScore), NMS: 0.3, TopK: 500})
	detMap.Close()
	if err != nil {
		return nil, err
	}
	e := &Engine{opts: *o, det: det}
	for _, r := range []struct {
		spec recognizerSpec
		pre  Preprocess
	}{{dlibSpec(), o.Dlib}, {faceresSpec(), o.FaceRes}} {
		rec, err := loadRecognizer(man, o.ModelDir, r.spec, r.pre)
		if err != nil {
			e.Close()
			return nil, err
		}
		e.recs = append(e.recs, rec)
	}
	if man.Fusion != nil {
		if e.fusion, err = fusionFromManifest(man); err != nil {
			e.Close()
			return nil, err
		}
		e.accept, e.reject = man.Fusion.Accept, man.Fusion.Reject
	}
	return e, nil
}

// fusionFromManifest builds the calibrated fusion; its models must be the engine's, in order.
func fusionFromManifest(man *models.Manifest) (*match.Fusion, error) {
	f := man.Fusion
	want := []recognizerSpec{dlibSpec(), faceresSpec()}
	if len(f.Models) != len(want) {
		return nil, fmt.Errorf("face: the manifest fuses %v, the engine makes %s and %s", f.Models, DlibModel, FaceResModel)
	}
	parts := make([]match.PartScore, len(want))
	for i, spec := range want {
		if f.Models[i] != spec.id {
			return nil, fmt.Errorf("face: the manifest fuses %v, the engine makes %s and %s", f.Models, DlibModel, FaceResModel)
		}
		md, err := man.Get(spec.id)
		if err != nil {
			return nil, err
		}
		if md.Impostor == nil {
			return nil, fmt.Errorf("face: the manifest has no impostor statistics for %s: run make calibrate", spec.id)
		}
		parts[i] = match.PartScore{Model: spec.id, Metric: spec.metric, Dims: spec.dims,
			ImpostorMean: md.Impostor.Mean, ImpostorStd: md.Impostor.Std, Weight: f.Weights[i]}
	}
	return match.NewFusion(parts...)
}

// Close frees the models.
func (e *Engine) Close() error {
	e.detMu.Lock()
	e.det.Close()
	e.detMu.Unlock()
	var first error
	for _, r := range e.recs {
		if err := r.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// ModelID names the recognizers whose embeddings the engine's templates carry ("a+b").
func (e *Engine) ModelID() string {
	s := ""
	for i, r := range e.recs {
		if i > 0 {
			s += "+"
		}
		s += r.id
	}
	return s
}

// RecognizerInfo describes one recognizer of the engine.
type RecognizerInfo struct {
	ID     string
	Metric match.Metric
	Dims   int
}

// Recognizers lists the engine's recognizers in template order.
func (e *Engine) Recognizers() []RecognizerInfo {
	out := make([]RecognizerInfo, len(e.recs))
	for i, r := range e.recs {
		out[i] = RecognizerInfo{ID: r.id, Metric: r.metric, Dims: r.dims}
	}
	return out
}

// Fusion is the calibrated score fusion, or nil when the manifest has none yet.
func (e *Engine) Fusion() *match.Fusion { return e.fusion }

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

// Align warps the face onto the primary recognizer's 150x150 template (the chip the quality
// gates measure). The caller closes the result.
func (e *Engine) Align(img gocv.Mat, f Face) (gocv.Mat, error) {
	return e.recs[0].align(img, f)
}

// Embed computes the template of the face f in img: each recognizer aligns it to its own
// template and embeds it.
func (e *Engine) Embed(img gocv.Mat, f Face) (match.Template, error) {
	var t match.Template
	for i, r := range e.recs {
		chip, err := r.align(img, f)
		if err != nil {
			return match.Template{}, err
		}
		v, err := r.embed(chip)
		chip.Close()
		if err != nil {
			return match.Template{}, err
		}
		if i == 0 {
			t.Model, t.Vector = r.id, v
		} else {
			t.Aux = append(t.Aux, match.Embedding{Model: r.id, Vector: v})
		}
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
	a.Template, err = e.Embed(img, a.Face)
	a.Timings.Embed = time.Since(t0)
	return a, err
}
