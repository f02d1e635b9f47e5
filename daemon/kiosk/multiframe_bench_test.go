package kiosk

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/daemon/face"
	"github.com/edgeid/edgeid/daemon/match"
	"gocv.io/x/gocv"
)

// devSets are the dev face sets, beside the checkout in ../shared/datasets.
var devSets = []string{"../../../shared/datasets/faces-dev/att", "../../../shared/datasets/faces-dev/johns", "../../../shared/datasets/faces-dev2"}

// devPerson is one identity of the dev sets: its chip template (the first image that gives a
// face, taken as issued, as the kiosk takes a chip photo) and its other images that pass the
// quality gates (the frames a capture would keep), best quality first as the kiosk ranks them.
type devPerson struct {
	id     string
	chip   match.Template
	frames []devFrame
}

type devFrame struct {
	img      gocv.Mat
	quality  float64
	template match.Template
}

func loadDevPeople(b *testing.B, eng *face.Engine) []devPerson {
	b.Helper()
	var people []devPerson
	for _, set := range devSets {
		if _, err := os.Stat(set); err != nil {
			if os.Getenv("CI") == "true" {
				b.Fatalf("the dev face set %s is required under CI: %v", set, err)
			}
			b.Skipf("skipping: the dev face set is not at %s (../shared/datasets beside the checkout): %v", set, err)
		}
		dirs, _ := filepath.Glob(filepath.Join(set, "*"))
		sort.Strings(dirs)
		for _, dir := range dirs {
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				continue
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*"))
			sort.Strings(files)
			p := devPerson{id: filepath.Base(set) + "/" + filepath.Base(dir)}
			for _, f := range files {
				if ext := strings.ToLower(filepath.Ext(f)); ext != ".pgm" && ext != ".jpg" && ext != ".png" {
					continue
				}
				raw, err := os.ReadFile(f)
				if err != nil {
					b.Fatal(err)
				}
				img, _, err := face.Decode(raw, face.DefaultLimits(), f)
				if err != nil {
					continue
				}
				a, err := eng.Analyze(img, false)
				switch {
				case err != nil:
					img.Close()
				case len(p.chip.Vector) == 0:
					p.chip = a.Template
					img.Close()
				case len(a.Quality.Problems) > 0:
					img.Close()
				default:
					q := a.Quality.Sharpness * math.Cos(a.Quality.Yaw*math.Pi/180) * math.Cos(a.Quality.Pitch*math.Pi/180)
					p.frames = append(p.frames, devFrame{img: img, quality: q, template: a.Template})
				}
			}
			if len(p.chip.Vector) > 0 && len(p.frames) > 0 {
				people = append(people, p)
			}
		}
	}
	return people
}

// sequence is what one capture gives the decision: k good frames of one person against one
// chip photo.
type sequence struct {
	chip    match.Template
	frames  []devFrame
	genuine bool
}

// sequences builds captures of k frames from the people with at least minFrames good frames
// (the same people for every k, so that the rates compare): for every person, windows of k of
// their good frames (each frame starts one window, wrapping around) against their own chip
// photo; and for every ordered pair of people, every window of the second's frames against the
// first's chip photo.
func sequences(people []devPerson, k, minFrames int) []sequence {
	window := func(fs []devFrame, start int) []devFrame {
		w := make([]devFrame, k)
		for i := range k {
			w[i] = fs[(start+i)%len(fs)]
		}
		return w
	}
	var out []sequence
	for i, p := range people {
		if len(p.frames) < minFrames {
			continue
		}
		for s := range p.frames {
			out = append(out, sequence{chip: p.chip, frames: window(p.frames, s), genuine: true})
		}
		for j, q := range people {
			if j == i || len(q.frames) < minFrames {
				continue
			}
			for s := range q.frames {
				out = append(out, sequence{chip: p.chip, frames: window(q.frames, s)})
			}
		}
	}
	return out
}

// BenchmarkMultiFrame shows what scoring several frames of a capture buys and costs. For k =
// 1, 3 and 5 frames it reports, at the manifest's accept (far_1e-3) and reject (far_1e-2)
// thresholds and for each way of combining the frames' distances, the automatic false-accept
// rate of impostor captures, the genuine captures referred and rejected outright; and the time
// per check of analysing k frames and comparing them with the chip photo. The frames are
// different still photos of a person (pose and expression vary more than between the frames
// of one real capture, so the gain is an upper bound). The time is the analysis of k frames;
// the kiosk analyses every frame of its capture window whatever k is, so there k adds only
// comparisons, and the window must be long enough to see k good frames.
//
//	go test -run '^$' -bench BenchmarkMultiFrame -benchtime 20x ./daemon/kiosk
func BenchmarkMultiFrame(b *testing.B) {
	eng := benchEngine(b)
	people := loadDevPeople(b, eng)
	defer func() {
		for _, p := range people {
			for _, f := range p.frames {
				f.img.Close()
			}
		}
	}()
	pol := DefaultPolicy(eng.Thresholds()) // the shipped fused accept and reject thresholds
	for _, k := range []int{1, 3, 5} {
		seqs := sequences(people, k, 5)
		b.Run(fmt.Sprintf("k=%d", k), func(b *testing.B) {
			// Accuracy, from the frames' templates; reported after the timed loop, which
			// clears metrics reported before it.
			metrics := map[string]float64{}
			for _, mode := range []string{CombineMin, CombineMean, CombineMedian} {
				var gen, imp, far, gRef, gRej, iRef int
				for _, s := range seqs {
					ds := make([]float64, len(s.frames))
					for i, f := range s.frames {
						var err error
						if ds[i], err = eng.Compare(f.template, s.chip); err != nil {
							b.Fatal(err)
						}
					}
					v := pol.Verdict(Combine(mode, ds))
					if s.genuine {
						gen++
						gRef += btoi(v == Referred)
						gRej += btoi(v == Rejected)
					} else {
						imp++
						far += btoi(v == Accepted)
						iRef += btoi(v == Referred)
					}
				}
				metrics["FAR%-"+mode] = 100 * float64(far) / float64(imp)
				metrics["genuine-referred%-"+mode] = 100 * float64(gRef) / float64(gen)
				metrics["genuine-rejected%-"+mode] = 100 * float64(gRej) / float64(gen)
				metrics["impostor-referred%-"+mode] = 100 * float64(iRef) / float64(imp)
				metrics["genuine-captures"], metrics["impostor-captures"] = float64(gen), float64(imp)
				metrics["people"] = float64(countPeople(people, 5))
			}
			// Time: what one check costs, analysing the frames from their images.
			for i := 0; b.Loop(); i++ {
				s := seqs[i%len(seqs)]
				ds := make([]float64, len(s.frames))
				for j, f := range s.frames {
					a, err := eng.Analyze(f.img, false)
					if err != nil {
						b.Fatal(err)
					}
					if ds[j], err = eng.Compare(a.Template, s.chip); err != nil {
						b.Fatal(err)
					}
				}
				_ = pol.Verdict(Combine(pol.FaceCombine, ds))
			}
			for unit, v := range metrics {
				b.ReportMetric(v, unit)
			}
		})
	}
}

func countPeople(people []devPerson, minFrames int) int {
	n := 0
	for _, p := range people {
		n += btoi(len(p.frames) >= minFrames)
	}
	return n
}

func btoi(v bool) int {
	if v {
		return 1
	}
	return 0
}

func benchEngine(b *testing.B) *face.Engine {
	b.Helper()
	o := face.DefaultOpts()
	o.ModelDir = "../../models"
	eng, err := face.New(&o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { eng.Close() })
	return eng
}
