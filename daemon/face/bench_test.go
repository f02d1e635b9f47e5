package face

import (
	"image"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/daemon/match"
	"gocv.io/x/gocv"
)

// Benchmarks of the face pipeline, one OpenCV thread, the same inputs and stage cuts as the
// python3-opencv peer in deploy/build/face_peer.py; `make bench` puts both in one table.

func newBenchEngine(b *testing.B) *Engine {
	o := DefaultOpts()
	o.ModelDir = "../../models"
	o.Threads = 1
	e, err := New(&o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	return e
}

func resized(b *testing.B, img gocv.Mat, w, h int) gocv.Mat {
	out := gocv.NewMat()
	gocv.Resize(img, &out, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
	b.Cleanup(func() { out.Close() })
	return out
}

func BenchmarkFace(b *testing.B) {
	e := newBenchEngine(b)
	png := readTestdata(b, "astronaut.png")
	jpg := readTestdata(b, "astronaut-shifted.jpg")
	jp2 := readTestdata(b, "astronaut-320.jp2")
	for _, c := range []struct {
		name string
		data []byte
	}{{"decode_png_512", png}, {"decode_jpeg_512", jpg}, {"decode_jp2_320", jp2}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				img, _, err := Decode(c.data, DefaultLimits(), c.name)
				if err != nil {
					b.Fatal(err)
				}
				img.Close()
			}
		})
	}
	astro := decodeTestdata(b, "astronaut.png")
	for _, sz := range []image.Point{{640, 480}, {320, 240}} {
		img := resized(b, astro, sz.X, sz.Y)
		b.Run("detect_"+strconv.Itoa(sz.X)+"x"+strconv.Itoa(sz.Y), func(b *testing.B) {
			for b.Loop() {
				if faces, err := e.Detect(img); err != nil || len(faces) != 1 {
					b.Fatalf("Detect: %d faces, %v", len(faces), err)
				}
			}
		})
	}
	faces, err := e.Detect(astro)
	if err != nil || len(faces) == 0 {
		b.Fatal("no face in astronaut.png")
	}
	b.Run("align", func(b *testing.B) {
		for b.Loop() {
			chip, err := e.Align(astro, faces[0])
			if err != nil {
				b.Fatal(err)
			}
			chip.Close()
		}
	})
	// Align and embed per recognizer (with its shipped preprocessing), then both: the template.
	for _, r := range e.recs {
		b.Run("embed_"+r.id, func(b *testing.B) {
			for b.Loop() {
				chip, err := r.align(astro, faces[0])
				if err != nil {
					b.Fatal(err)
				}
				_, err = r.embed(chip)
				chip.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("embed", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.Embed(astro, faces[0]); err != nil {
				b.Fatal(err)
			}
		}
	})
	t1, err := e.Embed(astro, faces[0])
	if err != nil {
		b.Fatal(err)
	}
	t2 := match.Template{Model: t1.Model, Vector: append([]float32(nil), t1.Vector...), Aux: t1.Aux}
	t2.Vector[0] += 0.1
	compare := match.Distance
	if e.Fusion() != nil {
		compare = e.Compare
	}
	b.Run("compare", func(b *testing.B) {
		for b.Loop() {
			if _, err := compare(t1, t2); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The whole 1:1 check as `edgeid face compare` runs it: decode both, detect, gate, align,
	// embed both, compare.
	b.Run("check_1to1", func(b *testing.B) {
		for b.Loop() {
			var ts [2]match.Template
			for i, data := range [][]byte{png, jpg} {
				img, _, err := Decode(data, DefaultLimits(), "bench")
				if err != nil {
					b.Fatal(err)
				}
				a, err := e.Analyze(img, true)
				img.Close()
				if err != nil {
					b.Fatal(err)
				}
				ts[i] = a.Template
			}
			if _, err := compare(ts[0], ts[1]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFaceLoad times loading both models and reports the process's resident memory after
// the first load. Run it alone in a fresh process (`make bench` does) for a clean RSS figure.
func BenchmarkFaceLoad(b *testing.B) {
	b.Run("model_load", func(b *testing.B) {
		rss := 0.0
		for b.Loop() {
			o := DefaultOpts()
			o.ModelDir = "../../models"
			o.Threads = 1
			e, err := New(&o)
			if err != nil {
				b.Fatal(err)
			}
			if rss == 0 {
				rss = vmRSSMiB(b)
			}
			e.Close()
		}
		b.ReportMetric(rss, "rss_MiB")
	})
}
func vmRSSMiB(b *testing.B) float64 {
	s, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(s), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}
