package face

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"sync"

	"github.com/edgeid/edgeid/daemon/match"
	"github.com/edgeid/edgeid/models"
	"gocv.io/x/gocv"
)

// Recognizer ids in models/MANIFEST.json, the primary first: templates carry one embedding of
// each, in this order.
const (
	DlibModel    = "dlib-resnet-v1"
	FaceResModel = "hse-faceres-v1"
)

// recognizerSpec is one network's conventions: where its alignment puts the five landmarks,
// how a chip becomes its input blob, and how its embeddings compare.
type recognizerSpec struct {
	id       string
	dims     int
	size     int      // side of the aligned chip
	template [5]Point // landmark positions on the chip, YuNet's order
	scale    float64  // blob = (pixel - mean) * scale
	mean     gocv.Scalar
	swapRB   bool // the network wants RGB
	metric   match.Metric
}

// dlibSpec: dlib's face chip (size 150, padding 0.25) from its mean face shape; RGB,
// (pixel - mean) / 256; euclidean distance of raw outputs (see ../shared/models/README.md).
func dlibSpec() recognizerSpec {
	return recognizerSpec{
		id: DlibModel, dims: 128, size: ChipSize,
		template: chipTemplate,
		scale:    1.0 / 256, mean: gocv.NewScalar(122.782, 117.001, 104.298, 0), swapRB: true,
		metric: match.Euclidean,
	}
}

// faceresSpec: the ArcFace 5-point template scaled to 224x224; BGR, pixel - mean (Caffe's
// ImageNet means in B, G, R order), no scaling; cosine distance of raw outputs.
func faceresSpec() recognizerSpec {
	return recognizerSpec{
		id: FaceResModel, dims: 1024, size: 224,
		template: [5]Point{
			{76.5892, 103.3926}, {147.0636, 103.0028}, {112.0504, 143.4732}, {83.0986, 184.7310}, {141.4598, 184.4082},
		},
		scale: 1, mean: gocv.NewScalar(103.939, 116.779, 123.68, 0), swapRB: false,
		metric: match.Cosine,
	}
}

// Preprocess is the test-time processing of one recognizer's chip, chosen by measurement.
type Preprocess struct {
	// Flip averages the embeddings of the chip and its mirror image.
	Flip bool
	// Gamma, when positive, gamma-corrects the chip so that its inner face's mean grey level
	// moves toward this level (0-255) before embedding.
	Gamma float64
}

// recognizer is a loaded network. The network is used by one goroutine at a time.
type recognizer struct {
	recognizerSpec
	pre Preprocess
	mu  sync.Mutex
	net gocv.Net
}

func loadRecognizer(man *models.Manifest, dir string, spec recognizerSpec, pre Preprocess) (*recognizer, error) {
	md, err := man.Get(spec.id)
	if err != nil {
		return nil, err
	}
	if md.Role != "recognizer" || md.Metric != string(spec.metric) {
		return nil, fmt.Errorf("face: manifest entry %s is a %q with metric %q, want a recognizer with %q", spec.id, md.Role, md.Metric, spec.metric)
	}
	mp, err := md.Map(dir)
	if err != nil {
		return nil, err
	}
	defer mp.Close() // OpenCV copies the weights into the network it builds
	net, err := gocv.ReadNetFromONNXBytes(mp.Bytes())
	if err != nil || net.Empty() {
		return nil, fmt.Errorf("face: loading %s: %v", spec.id, err)
	}
	return &recognizer{recognizerSpec: spec, pre: pre, net: net}, nil
}

func (r *recognizer) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.net.Close()
}

// align warps the face onto this recognizer's template. Pixels outside the image repeat its
// edge, as if the image had been padded with a replicated border. The caller closes the chip.
func (r *recognizer) align(img gocv.Mat, f Face) (gocv.Mat, error) {
	m, err := estimateSimilarity(f.Landmarks[:], r.template[:])
	if err != nil {
		return gocv.Mat{}, err
	}
	affine := gocv.NewMatWithSize(2, 3, gocv.MatTypeCV64F)
	defer affine.Close()
	for i, v := range [6]float64{m.A, -m.B, m.TX, m.B, m.A, m.TY} {
		affine.SetDoubleAt(i/3, i%3, v)
	}
	chip := gocv.NewMat()
	gocv.WarpAffineWithParams(img, &chip, affine, image.Pt(r.size, r.size), gocv.InterpolationLinear, gocv.BorderReplicate, color.RGBA{})
	return chip, nil
}

// embed computes the embedding of an aligned chip, with the recognizer's preprocessing.
func (r *recognizer) embed(chip gocv.Mat) ([]float32, error) {
	if chip.Cols() != r.size || chip.Rows() != r.size || chip.Type() != gocv.MatTypeCV8UC3 {
		return nil, fmt.Errorf("embed %s: want a %dx%d BGR chip", r.id, r.size, r.size)
	}
	src := chip
	if r.pre.Gamma > 0 {
		g := gammaToward(chip, r.pre.Gamma)
		defer g.Close()
		src = g
	}
	v, err := r.forward(src)
	if err != nil || !r.pre.Flip {
		return v, err
	}
	mirror := gocv.NewMat()
	defer mirror.Close()
	gocv.Flip(src, &mirror, 1)
	w, err := r.forward(mirror)
	if err != nil {
		return nil, err
	}
	for i := range v {
		v[i] = (v[i] + w[i]) / 2
	}
	return v, nil
}

func (r *recognizer) forward(chip gocv.Mat) ([]float32, error) {
	blob := gocv.BlobFromImage(chip, r.scale, image.Pt(r.size, r.size), r.mean, r.swapRB, false)
	defer blob.Close()
	v, err := r.run(blob)
	if err != nil {
		return nil, err
	}
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("embed %s: component %d is not finite", r.id, i)
		}
	}
	return v, nil
}

// run passes blob through the network and copies its output. The copy is made under the lock:
// the Mat that Forward returns shares the network's output buffer, which the next caller's
// Forward overwrites.
func (r *recognizer) run(blob gocv.Mat) ([]float32, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.net.SetInput(blob, "")
	out := r.net.Forward("")
	defer out.Close()
	v, err := out.DataPtrFloat32()
	if err != nil {
		return nil, fmt.Errorf("embed %s: %w", r.id, err)
	}
	if len(v) != r.dims {
		return nil, fmt.Errorf("embed %s: network gave %d values, want %d", r.id, len(v), r.dims)
	}
	return append([]float32(nil), v...), nil
}

// gammaToward returns chip with a gamma curve that maps the mean grey level of its central
// half to target (the exponent bounded to [1/3, 3] so a black chip is not blown up).
func gammaToward(chip gocv.Mat, target float64) gocv.Mat {
	grey := gocv.NewMat()
	defer grey.Close()
	gocv.CvtColor(chip, &grey, gocv.ColorBGRToGray)
	n := chip.Cols()
	inner := grey.Region(image.Rect(n/4, n/4, 3*n/4, 3*n/4))
	mean := inner.Mean().Val1
	inner.Close()
	out := chip.Clone()
	if mean < 1 || mean > 254 {
		return out
	}
	g := math.Log(target/255) / math.Log(mean/255)
	g = min(max(g, 1.0/3), 3)
	lut := gocv.NewMatWithSize(1, 256, gocv.MatTypeCV8U)
	defer lut.Close()
	for i := 0; i < 256; i++ {
		lut.SetUCharAt(0, i, uint8(math.Round(255*math.Pow(float64(i)/255, g))))
	}
	gocv.LUT(chip, lut, &out)
	return out
}
