package match

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkGallery times one 1:N query (K=1) over N templates of 128 dimensions, float32 and
// int8, next to the memory-bandwidth floor measured in the same run. With EDGEID_BENCH_VECDIR
// set it also writes the gallery and the queries there, so that the FAISS peer
// (deploy/build/gallery_peer.py) searches the very same vectors.
func BenchmarkGallery(b *testing.B) {
	bw := readBandwidth()
	b.Run("read_bandwidth", func(b *testing.B) {
		for b.Loop() {
		}
		b.ReportMetric(bw/1e9, "GB/s")
	})
	rng := rand.New(rand.NewPCG(11, 12))
	queries := randomTemplates(rng, 64, 128)
	dir := os.Getenv("EDGEID_BENCH_VECDIR")
	if dir != "" {
		writeVectors(b, filepath.Join(dir, "queries.f32"), queries)
	}
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		ts := randomTemplates(rng, n, 128)
		if dir != "" {
			writeVectors(b, filepath.Join(dir, fmt.Sprintf("gallery-%d.f32", n)), ts)
		}
		g, err := NewGallery(testModel, 128, entries(ts))
		if err != nil {
			b.Fatal(err)
		}
		floor := float64(n*128*4) / bw * 1e9 // ns to read the float32 slab once
		name := fmt.Sprintf("%dk", n/1000)
		for _, c := range []struct {
			label string
			o     SearchOpts
			bytes int
		}{
			{"f32_", SearchOpts{K: 1, Threshold: 0.6}, n * 128 * 4},
			{"i8_", SearchOpts{K: 1, Threshold: 0.6, Precision: Int8, Rerank: 8}, n * 128},
		} {
			b.Run(c.label+name, func(b *testing.B) {
				i := 0
				for b.Loop() {
					if _, err := g.Search(queries[i%len(queries)], c.o); err != nil {
						b.Fatal(err)
					}
					i++
				}
				perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				b.ReportMetric(perOp/(float64(c.bytes)/bw*1e9), "x_own_floor")
				b.ReportMetric(perOp/floor, "x_f32_floor")
				if c.o.Precision == Int8 {
					// Agreement with float32 on these very queries: recall@1 of the int8 scan
					// as served (with rescoring) and of the raw int8 order.
					served, raw := 0, 0
					for _, q := range queries {
						f, _ := g.Search(q, SearchOpts{K: 1, Threshold: 0.6})
						s, _ := g.Search(q, c.o)
						r, _ := g.Search(q, SearchOpts{K: 1, Threshold: 0.6, Precision: Int8})
						if s.Candidates[0].ID == f.Candidates[0].ID {
							served++
						}
						if r.Candidates[0].ID == f.Candidates[0].ID {
							raw++
						}
					}
					b.ReportMetric(float64(served)/float64(len(queries)), "recall@1")
					b.ReportMetric(float64(raw)/float64(len(queries)), "raw_int8_recall@1")
				}
			})
		}
	}
}

// readBandwidth measures a STREAM-like read rate: the best of several passes summing a 512 MiB
// buffer with the float32 kernel, in bytes per second.
func readBandwidth() float64 {
	buf := make([]float32, 128<<20)
	for i := range buf {
		buf[i] = 1
	}
	k := bestKernels()
	const chunk = 1 << 16
	best := math.Inf(1)
	var sink float32
	for pass := 0; pass < 5; pass++ {
		start := time.Now()
		for off := 0; off < len(buf); off += chunk {
			c := buf[off : off+chunk]
			sink += k.f32(c, c)
		}
		best = min(best, time.Since(start).Seconds())
	}
	if sink == 0 {
		panic("unreachable: the sum keeps the reads alive")
	}
	return float64(len(buf)*4) / best
}

func writeVectors(b *testing.B, path string, ts []Template) {
	buf := make([]byte, 0, len(ts)*len(ts[0].Vector)*4)
	for _, t := range ts {
		for _, v := range t.Vector {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		b.Fatal(err)
	}
}
