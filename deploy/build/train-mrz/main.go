// Command train-mrz trains the MRZ reader's glyph classifier: it renders generated documents
// in OCR-B (Debian's fonts-ocr-b) photographed with random rotation, perspective, blur, noise
// and glare (daemon/mrzocr/mrzsynth), cuts their cells with the reader's own locating and
// segmentation, and keeps k spherical k-means centres per character as prototypes. The same
// seed gives the same file. `make mrz-model` runs it and prints the manifest values.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"

	"github.com/edgeid/edgeid/daemon/mrzocr"
	"github.com/edgeid/edgeid/daemon/mrzocr/mrzsynth"
	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
)

func main() {
	n := flag.Int("n", 400, "documents to render")
	k := flag.Int("k", 10, "prototypes per character")
	seed := flag.Uint64("seed", 7, "random seed")
	fonts := flag.String("fonts", mrzsynth.FontDir, "folder of the OCR-B fonts")
	out := flag.String("o", "models/mrz_ocrb_protos.bin", "model file to write")
	flag.Parse()
	if err := run(*n, *k, *seed, *fonts, *out); err != nil {
		fmt.Fprintln(os.Stderr, "train-mrz:", err)
		os.Exit(2)
	}
}

func run(n, k int, seed uint64, fonts, out string) error {
	f, err := mrzsynth.LoadFont(fonts)
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(seed, 0x747261696e))
	var docs [][]mrzocr.Sample
	formats := []string{mrz.TD3, mrz.TD1, mrz.TD2}
	for i := 0; i < n; i++ {
		d := mrzsynth.RandomDoc(r, formats[i%3])
		c := mrzsynth.RandomCapture(r)
		img, err := mrzsynth.Render(r, f, d, c)
		if err != nil {
			return err
		}
		ss, err := mrzocr.TrainingSamples(img, d.Lines)
		img.Close()
		if err != nil {
			continue // not located: the reader would refuse it too
		}
		docs = append(docs, ss)
	}
	// A document whose cells the segmentation misplaced teaches wrong labels. Round one keeps
	// the documents whose cells mostly lie nearest their own class's mean and clusters them;
	// round two keeps those the round-one prototypes mostly classify right.
	means := classMeans(docs)
	keep := func(ss []mrzocr.Sample) bool {
		agree := 0
		for _, s := range ss {
			if nearest(means, s.Features) == int(s.Class) {
				agree++
			}
		}
		return float64(agree) >= 0.85*float64(len(ss))
	}
	var classes []uint8
	var protos [][]float32
	used := 0
	for round := 1; round <= 2; round++ {
		byClass := make([][][]float32, len(mrzocr.Alphabet))
		used = 0
		for _, ss := range docs {
			if !keep(ss) {
				continue
			}
			used++
			for _, s := range ss {
				byClass[s.Class] = append(byClass[s.Class], s.Features)
			}
		}
		classes, protos = nil, nil
		for c, xs := range byClass {
			if len(xs) == 0 {
				return fmt.Errorf("no sample of %q in %d documents: render more", mrzocr.Alphabet[c], n)
			}
			for _, p := range kmeans(r, xs, k) {
				classes = append(classes, uint8(c))
				protos = append(protos, p)
			}
		}
		fmt.Fprintf(os.Stderr, "train-mrz: round %d: %d of %d documents located, %d of them segmented cleanly and used, %d prototypes\n", round, len(docs), n, used, len(protos))
		m1, err := mrzocr.NewModel(classes, protos)
		if err != nil {
			return err
		}
		keep = func(ss []mrzocr.Sample) bool {
			agree := 0
			for _, s := range ss {
				if m1.Classify(s.Features) == int(s.Class) {
					agree++
				}
			}
			return float64(agree) >= 0.9*float64(len(ss))
		}
	}
	m, err := mrzocr.NewModel(classes, protos)
	if err != nil {
		return err
	}
	b := m.Encode()
	if err := os.WriteFile(out, b, 0o644); err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	fmt.Printf("%s: bytes %d sha256 %s\n", out, len(b), hex.EncodeToString(sum[:]))
	return nil
}

// kmeans returns up to k centres of xs (unit vectors) by spherical k-means.
func kmeans(r *rand.Rand, xs [][]float32, k int) [][]float32 {
	if len(xs) <= k {
		return xs
	}
	cent := make([][]float32, k)
	for i, j := range r.Perm(len(xs))[:k] {
		cent[i] = append([]float32(nil), xs[j]...)
	}
	assign := make([]int, len(xs))
	for it := 0; it < 15; it++ {
		for i, x := range xs {
			bi, bs := 0, float32(math.Inf(-1))
			for j, c := range cent {
				var s float32
				for d := range x {
					s += x[d] * c[d]
				}
				if s > bs {
					bi, bs = j, s
				}
			}
			assign[i] = bi
		}
		sums := make([][]float64, k)
		for j := range sums {
			sums[j] = make([]float64, len(xs[0]))
		}
		counts := make([]int, k)
		for i, x := range xs {
			counts[assign[i]]++
			for d, v := range x {
				sums[assign[i]][d] += float64(v)
			}
		}
		for j := range cent {
			if counts[j] == 0 {
				copy(cent[j], xs[r.IntN(len(xs))])
				continue
			}
			var norm float64
			for _, v := range sums[j] {
				norm += v * v
			}
			norm = math.Sqrt(norm)
			for d := range cent[j] {
				cent[j][d] = float32(sums[j][d] / norm)
			}
		}
	}
	return cent
}

// classMeans is the mean feature vector of each class over all documents.
func classMeans(docs [][]mrzocr.Sample) [][]float32 {
	means := make([][]float32, len(mrzocr.Alphabet))
	counts := make([]int, len(means))
	for _, ss := range docs {
		for _, s := range ss {
			if means[s.Class] == nil {
				means[s.Class] = make([]float32, len(s.Features))
			}
			for i, v := range s.Features {
				means[s.Class][i] += v
			}
			counts[s.Class]++
		}
	}
	for c, m := range means {
		for i := range m {
			m[i] /= float32(counts[c])
		}
	}
	return means
}

func nearest(means [][]float32, f []float32) int {
	bi, bs := -1, float32(math.Inf(-1))
	for c, m := range means {
		if m == nil {
			continue
		}
		var s float32
		for i, v := range f {
			s += v * m[i]
		}
		if s > bs {
			bi, bs = c, s
		}
	}
	return bi
}
