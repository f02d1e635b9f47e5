package mrzocr_test

import (
	"math/rand/v2"
	"testing"

	"github.com/edgeid/edgeid/daemon/mrzocr/mrzsynth"
	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
)

// BenchmarkMRZ times finding and reading the MRZ of one 1280x720 frame (a hand-held TD3
// data page), one goroutine; bench.sh runs it with GOMAXPROCS=1 and OPENCV_FOR_THREADS_NUM=1.
func BenchmarkMRZ(b *testing.B) {
	f := loadFont(b)
	rd := newReader(b, 1)
	r := rand.New(rand.NewPCG(5, 5))
	d := mrzsynth.RandomDoc(r, mrz.TD3)
	c := mrzsynth.Capture{Width: 1280, Height: 720, Fill: 0.75, Rotate: 6, Perspective: 0.03, Blur: 0.6, Noise: 4}
	img, err := mrzsynth.Render(r, f, d, c)
	if err != nil {
		b.Fatal(err)
	}
	defer img.Close()
	b.Run("read_1280x720", func(b *testing.B) {
		for b.Loop() {
			rd.Read(img) //nolint:errcheck // timing; accuracy is eval's job
		}
	})
}
