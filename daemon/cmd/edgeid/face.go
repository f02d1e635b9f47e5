package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/edgeid/edgeid/daemon/cmd/internal/cli"
	"github.com/edgeid/edgeid/daemon/face"
	"github.com/edgeid/edgeid/models"
	"gocv.io/x/gocv"
)

// defaultOperatingPoint is the calibrated threshold the 1:1 decision uses by default:
// at most one false accept in a thousand impostor pairs on the dev sets.
const defaultOperatingPoint = "far_1e-3"

// faceFlags are the flags every face subcommand shares.
type faceFlags struct {
	models    string
	threshold float64
	gates     bool
	asJSON    bool
	threads   int
	// Measurement knobs (the defaults are the shipped, measured choices).
	padBelow    int
	flip, gamma string
}

func (f *faceFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.models, "models", "", "folder with the model files (default: ./models, then next to the binary, then /usr/share/edgeid/models)")
	fs.Float64Var(&f.threshold, "threshold", 0, "accept when the fused distance is at most this (default: the manifest's calibrated accept threshold)")
	fs.BoolVar(&f.gates, "gates", true, "refuse faces that fail the quality gates")
	fs.BoolVar(&f.asJSON, "json", false, "print JSON")
	fs.IntVar(&f.threads, "threads", 0, "OpenCV threads (0: OpenCV's default)")
	fs.IntVar(&f.padBelow, "pad-below", -1, "pad images whose short side is under this many pixels before detection (-1: the shipped default)")
	fs.StringVar(&f.flip, "flip", "default", "recognizers that average the embeddings of the chip and its mirror: dlib, faceres, both, none or default")
	fs.StringVar(&f.gamma, "gamma", "default", "chip gamma target level per recognizer, e.g. dlib=110,faceres=0; default keeps the shipped choice")
}

// applyPreprocess sets the measurement knobs on o.
func (f *faceFlags) applyPreprocess(o *face.Opts) error {
	if f.padBelow >= 0 {
		o.PadBelow = f.padBelow
	}
	switch f.flip {
	case "default":
	case "none":
		o.Dlib.Flip, o.FaceRes.Flip = false, false
	case "dlib":
		o.Dlib.Flip, o.FaceRes.Flip = true, false
	case "faceres":
		o.Dlib.Flip, o.FaceRes.Flip = false, true
	case "both":
		o.Dlib.Flip, o.FaceRes.Flip = true, true
	default:
		return cli.Usagef("--flip must be dlib, faceres, both, none or default")
	}
	if f.gamma == "default" {
		return nil
	}
	for _, kv := range strings.Split(f.gamma, ",") {
		k, v, ok := strings.Cut(kv, "=")
		level, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || level < 0 || level > 255 {
			return cli.Usagef("--gamma wants MODEL=LEVEL pairs (level 0 to 255, 0 off), got %q", kv)
		}
		switch k {
		case "dlib":
			o.Dlib.Gamma = level
		case "faceres":
			o.FaceRes.Gamma = level
		default:
			return cli.Usagef("--gamma: unknown model %q (dlib or faceres)", k)
		}
	}
	return nil
}

// engine loads the models and, when a decision is wanted, resolves the threshold.
func (f *faceFlags) engine(decide bool) (*face.Engine, float64, error) {
	man, err := models.Builtin()
	if err != nil {
		return nil, 0, err
	}
	dir := f.models
	if dir == "" {
		candidates := []string{"models"}
		if exe, err := os.Executable(); err == nil {
			candidates = append(candidates, filepath.Join(filepath.Dir(exe), "..", "models"), filepath.Join(filepath.Dir(exe), "models"))
		}
		candidates = append(candidates, "/usr/share/edgeid/models")
		if dir, err = man.FindDir(candidates...); err != nil {
			return nil, 0, fmt.Errorf("%w: pass --models DIR", err)
		}
	}
	threshold := f.threshold
	if decide && threshold == 0 {
		rec, err := man.Get(face.RecognizerModel)
		if err != nil {
			return nil, 0, err
		}
		t, ok := rec.Thresholds[defaultOperatingPoint]
		if !ok {
			return nil, 0, fmt.Errorf("the model manifest has no %s threshold for %s: pass --threshold", defaultOperatingPoint, face.RecognizerModel)
		}
		threshold = t
	}
	if decide && (threshold <= 0 || math.IsNaN(threshold) || math.IsInf(threshold, 0)) {
		return nil, 0, cli.Usagef("--threshold must be a positive distance")
	}
	o := face.DefaultOpts()
	o.ModelDir = dir
	o.Threads = f.threads
	if err := f.applyPreprocess(&o); err != nil {
		return nil, 0, err
	}
	eng, err := face.New(&o)
	return eng, threshold, err
}

// loadImage reads and decodes an image file; a DG2 file or bare ISO/IEC 19794-5 record yields
// the face image inside it. The caller closes the Mat.
func loadImage(path string) (gocv.Mat, face.Header, error) {
	lim := face.DefaultLimits()
	b, err := face.ReadFile(path, lim)
	if err != nil {
		return gocv.Mat{}, face.Header{}, err
	}
	if isBiometricRecord(b) {
		img, err := imageFromDG2(b)
		if err != nil {
			return gocv.Mat{}, face.Header{}, &face.ImageError{Source: path, Err: err}
		}
		b = img
	}
	return face.Decode(b, lim, path)
}

type faceReport struct {
	File       string      `json:"file"`
	Format     string      `json:"format"`
	Width      int         `json:"width"`
	Height     int         `json:"height"`
	Faces      int         `json:"faces"`
	Box        [4]float64  `json:"box"`
	Score      float64     `json:"score"`
	InterEye   float64     `json:"inter_eye_px"`
	Yaw        float64     `json:"yaw_deg"`
	Pitch      float64     `json:"pitch_deg"`
	Roll       float64     `json:"roll_deg"`
	Sharpness  float64     `json:"sharpness"`
	Brightness float64     `json:"brightness"`
	Problems   []string    `json:"problems,omitempty"`
	Millis     stageMillis `json:"ms"`
}

type stageMillis struct {
	Decode  float64 `json:"decode"`
	Detect  float64 `json:"detect"`
	Quality float64 `json:"quality"`
	Align   float64 `json:"align"`
	Embed   float64 `json:"embed"`
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/10) / 100 }

// analyzeFile runs the pipeline on one file and describes what it found.
func analyzeFile(eng *face.Engine, path string, enforce bool) (face.Analysis, faceReport, error) {
	r := faceReport{File: path}
	t0 := time.Now()
	img, h, err := loadImage(path)
	r.Millis.Decode = ms(time.Since(t0))
	if err != nil {
		return face.Analysis{}, r, err
	}
	defer img.Close()
	r.Format, r.Width, r.Height = string(h.Format), img.Cols(), img.Rows()
	a, err := eng.Analyze(img, enforce)
	r.Faces = len(a.Faces)
	r.Box = [4]float64{a.Face.X, a.Face.Y, a.Face.W, a.Face.H}
	r.Score = a.Face.Score
	r.InterEye, r.Yaw, r.Pitch, r.Roll = a.Quality.InterEye, a.Quality.Yaw, a.Quality.Pitch, a.Quality.Roll
	r.Sharpness, r.Brightness = a.Quality.Sharpness, a.Quality.Brightness
	for _, p := range a.Quality.Problems {
		r.Problems = append(r.Problems, p.String())
	}
	r.Millis.Detect, r.Millis.Quality = ms(a.Timings.Detect), ms(a.Timings.Quality)
	r.Millis.Align, r.Millis.Embed = ms(a.Timings.Align), ms(a.Timings.Embed)
	if err != nil {
		if errors.Is(err, face.ErrNoFace) {
			err = fmt.Errorf("%s: %w", path, err)
		} else {
			var qe *face.QualityError
			if errors.As(err, &qe) {
				err = fmt.Errorf("%s: %w", path, err)
			}
		}
	}
	return a, r, err
}

func (r faceReport) text(w io.Writer) {
	fmt.Fprintf(w, "  %s: %s %dx%d, %d face(s); face %.0fx%.0f at (%.0f,%.0f) score %.2f, eyes %.0f px, yaw %.0f pitch %.0f roll %.0f, sharpness %.0f, level %.0f\n",
		r.File, r.Format, r.Width, r.Height, r.Faces, r.Box[2], r.Box[3], r.Box[0], r.Box[1], r.Score, r.InterEye, r.Yaw, r.Pitch, r.Roll, r.Sharpness, r.Brightness)
	for _, p := range r.Problems {
		fmt.Fprintf(w, "    problem: %s\n", p)
	}
}

// Decisions of `face compare`, the kiosk's three-way decision: accept without a human, refer
// to an attendant, reject as another person.
const (
	decisionAccept = "accept"
	decisionRefer  = "refer"
	decisionReject = "reject"
)

type compareReport struct {
	Decision  string             `json:"decision"` // accept, refer or reject
	Distance  float64            `json:"distance"` // fused: smaller is more alike
	Threshold float64            `json:"threshold"`
	Reject    float64            `json:"reject_threshold"`
	Model     string             `json:"model"`
	PerModel  map[string]float64 `json:"model_distances"`
	A         faceReport         `json:"a"`
	B         faceReport         `json:"b"`
	Millis    compareMillis      `json:"ms"`
}

type compareMillis struct {
	Compare float64 `json:"compare"`
	Total   float64 `json:"total"`
}

// runFaceCompare decides whether two images show the same person. Exit status 0 only for
// accept; refer and reject exit 1 (a human must look, or it is another person); 2 on error.
func runFaceCompare(_ context.Context, e env, args []string) error {
	var ff faceFlags
	fs := newFlags(e, "face compare", "A B")
	ff.register(fs)
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return cli.Usagef("want two image files, got %d", len(pos))
	}
	eng, _, err := ff.engine(false)
	if err != nil {
		return err
	}
	defer eng.Close()
	if eng.Fusion() == nil {
		return face.ErrNotCalibrated
	}
	accept, reject := eng.Thresholds()
	if ff.threshold != 0 {
		if math.IsNaN(ff.threshold) || math.IsInf(ff.threshold, 0) {
			return cli.Usagef("--threshold must be a finite fused distance")
		}
		accept, reject = ff.threshold, max(reject, ff.threshold)
	}

	start := time.Now()
	a, ra, err := analyzeFile(eng, pos[0], ff.gates)
	if err != nil {
		return err
	}
	b, rb, err := analyzeFile(eng, pos[1], ff.gates)
	if err != nil {
		return err
	}
	t0 := time.Now()
	d, err := eng.Compare(a.Template, b.Template)
	if err != nil {
		return err
	}
	parts, err := eng.Fusion().PartDistances(a.Template, b.Template)
	if err != nil {
		return err
	}
	rep := compareReport{Decision: decisionReject, Distance: d, Threshold: accept, Reject: reject, Model: eng.ModelID(),
		PerModel: map[string]float64{}, A: ra, B: rb,
		Millis: compareMillis{Compare: ms(time.Since(t0)), Total: ms(time.Since(start))}}
	for i, r := range eng.Recognizers() {
		rep.PerModel[r.ID] = parts[i]
	}
	switch {
	case d <= accept:
		rep.Decision = decisionAccept
	case d <= reject:
		rep.Decision = decisionRefer
	}
	if ff.asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.Stdout, "%s: distance %.4f (accept at or below %.4f, reject above %.4f; models %s", rep.Decision, d, accept, reject, rep.Model)
		for i, r := range eng.Recognizers() {
			fmt.Fprintf(e.Stdout, ", %s %.4f", r.ID, parts[i])
		}
		fmt.Fprintln(e.Stdout, ")")
		ra.text(e.Stdout)
		rb.text(e.Stdout)
		fmt.Fprintf(e.Stdout, "  ms: decode %.1f+%.1f detect %.1f+%.1f quality %.2f+%.2f align %.2f+%.2f embed %.1f+%.1f compare %.3f total %.1f\n",
			ra.Millis.Decode, rb.Millis.Decode, ra.Millis.Detect, rb.Millis.Detect, ra.Millis.Quality, rb.Millis.Quality,
			ra.Millis.Align, rb.Millis.Align, ra.Millis.Embed, rb.Millis.Embed, rep.Millis.Compare, rep.Millis.Total)
	}
	if rep.Decision != decisionAccept {
		return &cli.ExitStatus{Code: 1}
	}
	return nil
}

func runFaceDetect(_ context.Context, e env, args []string) error {
	var ff faceFlags
	fs := newFlags(e, "face detect", "IMAGE...")
	ff.register(fs)
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return cli.Usagef("want at least one image file")
	}
	eng, _, err := ff.engine(false)
	if err != nil {
		return err
	}
	defer eng.Close()
	var reports []faceReport
	var firstErr error
	for _, p := range pos {
		_, r, err := analyzeFile(eng, p, false)
		if err != nil {
			r.Problems = append(r.Problems, err.Error())
			if firstErr == nil {
				firstErr = err
			}
		}
		reports = append(reports, r)
		if !ff.asJSON {
			r.text(e.Stdout)
		}
	}
	if ff.asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(reports); err != nil {
			return err
		}
	}
	return firstErr
}

// runFaceTemplate writes the template of the face in an image, for enrolment with
// `edgeidctl enroll push` (its manifest names template files). The image itself is not kept.
func runFaceTemplate(_ context.Context, e env, args []string) error {
	var ff faceFlags
	fs := newFlags(e, "face template", "IMAGE")
	ff.register(fs)
	out := fs.String("o", "", "write the template to this file (required; created with mode 0600)")
	force := fs.Bool("force", false, "replace the -o file if it exists")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *out == "" {
		return cli.Usagef("want one image and -o FILE")
	}
	eng, _, err := ff.engine(false)
	if err != nil {
		return err
	}
	defer eng.Close()
	a, _, err := analyzeFile(eng, pos[0], ff.gates)
	if err != nil {
		return err
	}
	b, err := a.Template.MarshalBinary()
	if err != nil {
		return err
	}
	if err := writeNewFile(*out, b, *force); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "%s: template of model %s, %d bytes\n", *out, a.Template.Model, len(b))
	return nil
}
