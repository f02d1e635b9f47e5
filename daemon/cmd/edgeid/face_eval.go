package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/edgeid/edgeid/daemon/cmd/internal/cli"
	"github.com/edgeid/edgeid/daemon/face"
	"github.com/edgeid/edgeid/daemon/match"
	"github.com/edgeid/edgeid/internal/atomicfile"
	"github.com/edgeid/edgeid/models"
	"gocv.io/x/gocv"
)

// evalTargets are the false-accept rates the evaluation reports thresholds for.
var evalTargets = [...]float64{1e-2, 1e-3, 5e-4, 1e-4}

// Protocols of `face eval`.
const (
	protocolAll      = "all"      // every pair of images
	protocolChip     = "chip"     // each identity's first usable image as a passport chip photo vs every other image
	protocolLighting = "lighting" // every image against every other one re-lit (probe side only)
)

// Model selections of `face eval`: the fused decision or one recognizer alone.
const (
	evalFused   = "fused"
	evalDlib    = "dlib"
	evalFaceRes = "faceres"
)

type evalUnusable struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// shippedPoint is what a shipped threshold gives on the evaluated pairs.
type shippedPoint struct {
	Threshold float64
	FAR       float64
	FRR       float64
}

// referralPoint is the three-way decision's middle band: genuine pairs above the accept
// threshold but not above reject are referred to the attendant; above reject they are refused.
type referralPoint struct {
	Reject    float64 `json:"reject_threshold"`
	Referred  float64 `json:"referred"`           // genuine pairs referred
	Rejected  float64 `json:"rejected"`           // genuine pairs refused outright
	Impostors float64 `json:"impostors_referred"` // impostor pairs referred (not accepted)
}

// evalResult is one model's ROC on one slice of the pairs (the union, a set, a group).
type evalResult struct {
	Slice     string                 `json:"slice"`
	Model     string                 `json:"model"`
	Genuine   int                    `json:"genuine_pairs"`
	Impostor  int                    `json:"impostor_pairs"`
	EER       float64                `json:"eer"`
	EERThresh float64                `json:"eer_threshold"`
	Points    []match.OperatingPoint `json:"operating_points"`
	// FRR1 is the smallest threshold at which at most 1% of genuine pairs are refused.
	FRR1     float64        `json:"frr_1pct_threshold"`
	Shipped  *shippedPoint  `json:"shipped_threshold,omitempty"`
	Referral *referralPoint `json:"referral,omitempty"`
}

type evalReport struct {
	Sets       []string               `json:"sets"`
	Protocol   string                 `json:"protocol"`
	Model      string                 `json:"model"`
	Gates      bool                   `json:"gates"`
	Identities int                    `json:"identities"`
	Images     int                    `json:"images"`
	Usable     int                    `json:"usable"`
	Unusable   []evalUnusable         `json:"unusable"`
	Genuine    int                    `json:"genuine_pairs"`
	Impostor   int                    `json:"impostor_pairs"`
	EER        float64                `json:"eer"`
	EERThresh  float64                `json:"eer_threshold"`
	Points     []match.OperatingPoint `json:"operating_points"`
	Shipped    *shippedPoint          `json:"shipped_threshold,omitempty"`
	Referral   *referralPoint         `json:"referral,omitempty"`
	Curve      [][3]float64           `json:"curve,omitempty"` // threshold, FAR, FRR
	// ImpostorStats are each recognizer's impostor distance mean and deviation on this run's
	// pairs; FusionStats say which statistics the fused scores used ("manifest" or a file).
	ImpostorStats map[string]models.Stats `json:"impostor_stats"`
	FusionStats   string                  `json:"fusion_stats"`
	// Results: every model (dlib, faceres, fused) on the union, on each set and each group.
	Results []evalResult `json:"results"`
	// GalleryAgreement: with each identity's first usable image enrolled in a fused 1:N gallery
	// and every other image searched, the fraction whose best candidate from the int8 first
	// pass reranked by the fused distance (the kiosk's search) is the exact fused search's.
	GalleryAgreement float64 `json:"gallery_recall_at_1_vs_exact"`
	GalleryProbes    int     `json:"gallery_probes"`
}

type evalSample struct {
	set, identity, file string
	tmpl                match.Template
}

// evalPair is one scored comparison: per-model raw distances, and the slices it belongs to.
type evalPair struct {
	genuine bool
	d       []float64
	set     string // the set both images come from, "" across sets
	a, b    string // identities
}

func runFaceEval(ctx context.Context, e env, args []string) error {
	var ff faceFlags
	fs := newFlags(e, "face eval", "DIR...")
	ff.register(fs)
	rocPath := fs.String("roc", "", "also write the report with the whole ROC curve as JSON to this file")
	protocol := fs.String("protocol", protocolAll, "all: every pair; chip: each identity's first usable image as a chip photo (ICAO crop, JPEG2000 of about 14 KB) against every other image; lighting: every image against every other one re-lit")
	model := fs.String("model", evalFused, "the model whose ROC the top-level keys report: fused, dlib or faceres (results lists all three)")
	statsFile := fs.String("fusion-stats", "", "z-normalise the fused scores with the impostor_stats of this eval JSON, or \"measured\" for this run's own (default: the manifest's)")
	scaleTo := fs.Int("scale-to", 0, "scale every image so that its long side is this many pixels before analysis (camera-sized frames for the detector's padding measurement); 0 keeps them")
	var groups groupFlags
	fs.Var(&groups, "group", "NAME=SET/ID,SET/ID,...: also report the pairs whose both identities are in the group (repeatable)")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return cli.Usagef("want at least one folder holding one folder per identity")
	}
	if *protocol != protocolAll && *protocol != protocolChip && *protocol != protocolLighting {
		return cli.Usagef("--protocol must be all, chip or lighting")
	}
	if *model != evalFused && *model != evalDlib && *model != evalFaceRes {
		return cli.Usagef("--model must be fused, dlib or faceres")
	}
	eng, _, err := ff.engine(false)
	if err != nil {
		return err
	}
	defer eng.Close()
	man, err := models.Builtin()
	if err != nil {
		return err
	}
	rep := evalReport{Sets: pos, Protocol: *protocol, Model: *model, Gates: ff.gates, Unusable: []evalUnusable{}}
	gallery, probes, err := evalSamples(ctx, eng, pos, *protocol, ff.gates, *scaleTo, &rep)
	if err != nil {
		return err
	}
	rep.Usable = len(gallery) + len(probes)

	recs := eng.Recognizers()
	raw, err := rawFusion(recs)
	if err != nil {
		return err
	}
	pairs, err := evalPairs(raw, *protocol, gallery, probes)
	if err != nil {
		return err
	}
	rep.ImpostorStats = impostorStats(recs, pairs)
	fusion, source, err := evalFusion(eng, man, recs, *statsFile, rep.ImpostorStats)
	if err != nil {
		return err
	}
	rep.FusionStats = source
	if rep.GalleryAgreement, rep.GalleryProbes, err = galleryAgreement(fusion, gallery); err != nil {
		return err
	}
	top, err := scoreEvalSlices(&rep, evalSlices(pos, groups), pairs, recs, fusion, man)
	if err != nil {
		return err
	}
	if top.GenuinePairs == 0 {
		return fmt.Errorf("face eval: need genuine and impostor pairs (%d usable images)", rep.Usable)
	}
	if *rocPath != "" {
		if err := writeEvalROC(*rocPath, rep, top); err != nil {
			return err
		}
	}
	if ff.asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printEvalReport(e.Stdout, rep, eng.ModelID())
	return nil
}

// evalSamples analyses every image of the identity folders under pos; by protocol, an image
// becomes a gallery sample, a probe, or both (the lighting protocol's re-lit probe).
func evalSamples(ctx context.Context, eng *face.Engine, pos []string, protocol string, gates bool, scaleTo int, rep *evalReport) (gallery, probes []evalSample, err error) {
	for _, dir := range pos {
		ids, err := identityFolders(dir)
		if err != nil {
			return nil, nil, err
		}
		rep.Identities += len(ids)
		for _, id := range ids {
			files, err := regularFiles(filepath.Join(dir, id))
			if err != nil {
				return nil, nil, err
			}
			chipDone := false
			for _, f := range files {
				if err := stopped(ctx); err != nil {
					return nil, nil, err
				}
				rep.Images++
				s := evalSample{set: filepath.Base(dir), identity: filepath.Base(dir) + "/" + id, file: f}
				switch {
				case protocol == protocolChip && !chipDone:
					t, err := chipTemplate(eng, f, gates)
					if err != nil {
						rep.Unusable = append(rep.Unusable, evalUnusable{File: f, Reason: "as chip photo: " + strings.TrimPrefix(err.Error(), f+": ")})
						continue
					}
					chipDone = true
					s.tmpl = t
					gallery = append(gallery, s)
					continue
				case protocol == protocolLighting:
					t, err := relitTemplate(eng, f, rep.Images, gates)
					if err != nil {
						rep.Unusable = append(rep.Unusable, evalUnusable{File: f, Reason: "re-lit: " + strings.TrimPrefix(err.Error(), f+": ")})
					} else {
						p := s
						p.tmpl = t
						probes = append(probes, p)
					}
				}
				t, err := evalTemplate(eng, f, gates, scaleTo)
				if err != nil {
					rep.Unusable = append(rep.Unusable, evalUnusable{File: f, Reason: strings.TrimPrefix(err.Error(), f+": ")})
					continue
				}
				s.tmpl = t
				if protocol == protocolChip {
					probes = append(probes, s)
				} else {
					gallery = append(gallery, s)
				}
			}
		}
	}
	return gallery, probes, nil
}

// evalPairs is every comparison the protocol makes, with each recognizer's raw distance.
func evalPairs(raw *match.Fusion, protocol string, gallery, probes []evalSample) ([]evalPair, error) {
	var pairs []evalPair
	add := func(a, b evalSample) error {
		d, err := raw.PartDistances(a.tmpl, b.tmpl)
		if err != nil {
			return err
		}
		p := evalPair{genuine: a.identity == b.identity, d: d, a: a.identity, b: b.identity}
		if a.set == b.set {
			p.set = a.set
		}
		pairs = append(pairs, p)
		return nil
	}
	switch protocol {
	case protocolAll:
		for i := range gallery {
			for j := i + 1; j < len(gallery); j++ {
				if err := add(gallery[i], gallery[j]); err != nil {
					return nil, err
				}
			}
		}
	case protocolChip:
		for _, g := range gallery {
			for _, p := range probes {
				if err := add(g, p); err != nil {
					return nil, err
				}
			}
		}
	case protocolLighting:
		// A re-lit probe is never compared with its own clean image.
		for _, g := range gallery {
			for _, p := range probes {
				if g.file == p.file {
					continue
				}
				if err := add(g, p); err != nil {
					return nil, err
				}
			}
		}
	}

	return pairs, nil
}

// impostorStats is each recognizer's mean and deviation of the impostor distances.
func impostorStats(recs []face.RecognizerInfo, pairs []evalPair) map[string]models.Stats {
	st := map[string]models.Stats{}
	for k, r := range recs {
		var xs []float64
		for _, p := range pairs {
			if !p.genuine {
				xs = append(xs, p.d[k])
			}
		}
		st[r.ID] = meanStd(xs)
	}
	return st
}

// evalSlice is a subset of the pairs reported on its own: the union, one set, or a group.
type evalSlice struct {
	name string
	in   func(evalPair) bool
}

// evalSlices is the union, each set when there are several, and each -group.
func evalSlices(pos []string, groups groupFlags) []evalSlice {
	slices := []evalSlice{{"union", func(evalPair) bool { return true }}}
	if len(pos) > 1 {
		for _, dir := range pos {
			set := filepath.Base(dir)
			slices = append(slices, evalSlice{set, func(p evalPair) bool { return p.set == set }})
		}
	}
	for _, g := range groups {
		slices = append(slices, evalSlice{g.name, func(p evalPair) bool { return g.ids[p.a] && g.ids[p.b] }})
	}
	return slices
}

// scoreEvalSlices computes the ROC of every model on every slice into rep.Results, with the
// shipped thresholds' rates, and copies the union's ROC of rep.Model to the top-level keys.
func scoreEvalSlices(rep *evalReport, slices []evalSlice, pairs []evalPair, recs []face.RecognizerInfo, fusion *match.Fusion, man *models.Manifest) (match.ROC, error) {
	// Shipped thresholds: each recognizer's far_1e-3 alone; the fused accept and reject.
	shipped := map[string]float64{}
	for _, r := range recs {
		if md, err := man.Get(r.ID); err == nil {
			if t, ok := md.Thresholds[defaultOperatingPoint]; ok {
				shipped[r.ID] = t
			}
		}
	}
	var accept, reject float64
	if man.Fusion != nil {
		accept, reject = man.Fusion.Accept, man.Fusion.Reject
	}
	names := []string{evalDlib, evalFaceRes, evalFused}
	score := func(p evalPair, m int) float64 {
		if m < len(recs) {
			return p.d[m]
		}
		f, _ := fusion.Fuse(p.d)
		return f
	}
	var top match.ROC
	for _, sl := range slices {
		for m, name := range names {
			var sc match.Scores
			for _, p := range pairs {
				if !sl.in(p) {
					continue
				}
				if p.genuine {
					sc.Genuine = append(sc.Genuine, score(p, m))
				} else {
					sc.Impostor = append(sc.Impostor, score(p, m))
				}
			}
			if len(sc.Genuine) == 0 || len(sc.Impostor) == 0 {
				continue
			}
			roc, err := match.ComputeROC(sc, evalTargets[:]...)
			if err != nil {
				return match.ROC{}, err
			}
			res := evalResult{Slice: sl.name, Model: name, Genuine: roc.GenuinePairs, Impostor: roc.ImpostorPairs,
				EER: roc.EER, EERThresh: roc.EERThreshold, Points: roc.Points, FRR1: frrThreshold(sc.Genuine, 0.01)}
			switch {
			case name == evalFused && man.Fusion != nil:
				res.Shipped = atThreshold(sc, accept)
				res.Referral = referral(sc, accept, reject)
			case name != evalFused && shipped[recs[m].ID] != 0:
				res.Shipped = atThreshold(sc, shipped[recs[m].ID])
			}
			rep.Results = append(rep.Results, res)
			if sl.name == "union" && name == rep.Model {
				top = roc
				rep.Genuine, rep.Impostor = roc.GenuinePairs, roc.ImpostorPairs
				rep.EER, rep.EERThresh, rep.Points = roc.EER, roc.EERThreshold, roc.Points
				rep.Shipped, rep.Referral = res.Shipped, res.Referral
			}
		}
	}
	return top, nil
}

// writeEvalROC writes the report with the whole ROC curve of its top-level model.
func writeEvalROC(path string, rep evalReport, top match.ROC) error {
	full := rep
	full.Curve = top.Curve
	b, err := json.MarshalIndent(full, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(b, '\n'), 0o644)
}

// printEvalReport prints the report for people.
func printEvalReport(w io.Writer, rep evalReport, modelID string) {
	fmt.Fprintf(w, "sets %v, protocol %s, models %s, quality gates %v, fusion statistics %s\n", rep.Sets, rep.Protocol, modelID, rep.Gates, rep.FusionStats)
	fmt.Fprintf(w, "identities %d, images %d, usable %d\n", rep.Identities, rep.Images, rep.Usable)
	for _, r := range rep.Results {
		fmt.Fprintf(w, "%s %s: %d genuine, %d impostor pairs; EER %.2f%% at %.4f", r.Slice, r.Model, r.Genuine, r.Impostor, 100*r.EER, r.EERThresh)
		for _, p := range r.Points {
			mark := ""
			if !p.Resolvable {
				mark = "*"
			}
			fmt.Fprintf(w, "; FAR<=%g%%: FRR %.2f%%%s at %.4f", 100*p.TargetFAR, 100*p.FRR, mark, p.Threshold)
		}
		if r.Shipped != nil {
			fmt.Fprintf(w, "; shipped %.4f: FAR %.3f%% FRR %.2f%%", r.Shipped.Threshold, 100*r.Shipped.FAR, 100*r.Shipped.FRR)
		}
		if r.Referral != nil {
			fmt.Fprintf(w, "; reject %.4f: genuine referred %.2f%%, rejected %.2f%%", r.Referral.Reject, 100*r.Referral.Referred, 100*r.Referral.Rejected)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "(* not resolvable: too few impostor pairs; the threshold accepts none)")
	if len(rep.Unusable) > 0 {
		fmt.Fprintf(w, "no usable face in %d image(s):\n", len(rep.Unusable))
		for _, u := range rep.Unusable {
			fmt.Fprintf(w, "  %s: %s\n", u.File, u.Reason)
		}
	}
}

// galleryAgreement enrols each identity's first sample and searches the others both ways.
func galleryAgreement(f *match.Fusion, samples []evalSample) (float64, int, error) {
	var entries []match.Entry
	enrolled := map[string]bool{}
	var probes []match.Template
	for _, s := range samples {
		if !enrolled[s.identity] {
			enrolled[s.identity] = true
			entries = append(entries, match.Entry{ID: s.identity, Template: s.tmpl})
			continue
		}
		probes = append(probes, s.tmpl)
	}
	if len(probes) == 0 {
		return 0, 0, nil
	}
	g, err := match.NewFusedGallery(f, entries)
	if err != nil {
		return 0, 0, err
	}
	same := 0
	for _, q := range probes {
		exact, err := g.Search(q, match.SearchOpts{K: 1, Threshold: 0, Precision: match.Float32})
		if err != nil {
			return 0, 0, err
		}
		fast, err := g.Search(q, match.SearchOpts{K: 1, Threshold: 0, Precision: match.Int8, Rerank: 16})
		if err != nil {
			return 0, 0, err
		}
		if exact.Candidates[0].ID == fast.Candidates[0].ID {
			same++
		}
	}
	return float64(same) / float64(len(probes)), len(probes), nil
}

// evalTemplate analyses one file, first scaled to a long side of scaleTo pixels when positive.
func evalTemplate(eng *face.Engine, path string, gates bool, scaleTo int) (match.Template, error) {
	if scaleTo <= 0 {
		a, _, err := analyzeFile(eng, path, gates)
		return a.Template, err
	}
	img, _, err := loadImage(path)
	if err != nil {
		return match.Template{}, err
	}
	defer img.Close()
	s := float64(scaleTo) / float64(max(img.Cols(), img.Rows()))
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(img, &small, image.Pt(max(1, int(float64(img.Cols())*s+0.5)), max(1, int(float64(img.Rows())*s+0.5))), 0, 0, gocv.InterpolationArea)
	a, err := eng.Analyze(small, gates)
	if err != nil {
		return match.Template{}, fmt.Errorf("%s: %w", path, err)
	}
	return a.Template, nil
}

// rawFusion compares the engine's templates model by model (the statistics are placeholders:
// only PartDistances is used from it).
func rawFusion(recs []face.RecognizerInfo) (*match.Fusion, error) {
	parts := make([]match.PartScore, len(recs))
	for i, r := range recs {
		parts[i] = match.PartScore{Model: r.ID, Metric: r.Metric, Dims: r.Dims, ImpostorMean: 0, ImpostorStd: 1, Weight: 1 / float64(len(recs))}
	}
	return match.NewFusion(parts...)
}

// evalFusion is the fusion that scores the pairs: the manifest's, this run's own statistics
// ("measured"), or those of an earlier eval JSON.
func evalFusion(eng *face.Engine, man *models.Manifest, recs []face.RecognizerInfo, stats string, measured map[string]models.Stats) (*match.Fusion, string, error) {
	if stats == "" {
		if f := eng.Fusion(); f != nil {
			return f, "manifest", nil
		}
		stats = "measured"
	}
	use := measured
	if stats != "measured" {
		b, err := os.ReadFile(stats)
		if err != nil {
			return nil, "", err
		}
		var prev evalReport
		if err := json.Unmarshal(b, &prev); err != nil {
			return nil, "", fmt.Errorf("%s: %w", stats, err)
		}
		use = prev.ImpostorStats
	}
	parts := make([]match.PartScore, len(recs))
	for i, r := range recs {
		st, ok := use[r.ID]
		if !ok {
			return nil, "", fmt.Errorf("fusion statistics %s lack %s", stats, r.ID)
		}
		parts[i] = match.PartScore{Model: r.ID, Metric: r.Metric, Dims: r.Dims, ImpostorMean: st.Mean, ImpostorStd: st.Std, Weight: 1 / float64(len(recs))}
	}
	if man.Fusion != nil && len(man.Fusion.Weights) == len(parts) {
		for i := range parts {
			parts[i].Weight = man.Fusion.Weights[i]
		}
	}
	f, err := match.NewFusion(parts...)
	return f, stats, err
}

func meanStd(xs []float64) models.Stats {
	if len(xs) == 0 {
		return models.Stats{}
	}
	var s, ss float64
	for _, x := range xs {
		s += x
	}
	m := s / float64(len(xs))
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return models.Stats{Mean: m, Std: math.Sqrt(ss / float64(len(xs)))}
}

// frrThreshold is the smallest threshold (midway to the next genuine score) at which at most
// the fraction frr of genuine scores lies above it.
func frrThreshold(genuine []float64, frr float64) float64 {
	g := append([]float64(nil), genuine...)
	sort.Float64s(g)
	k := int(math.Floor(frr * float64(len(g)))) // genuine pairs allowed above
	i := len(g) - 1 - k
	if i < 0 {
		return g[0]
	}
	return g[i]
}

func atThreshold(sc match.Scores, t float64) *shippedPoint {
	p := &shippedPoint{Threshold: t}
	for _, x := range sc.Impostor {
		if x <= t {
			p.FAR++
		}
	}
	for _, x := range sc.Genuine {
		if x > t {
			p.FRR++
		}
	}
	p.FAR /= float64(len(sc.Impostor))
	p.FRR /= float64(len(sc.Genuine))
	return p
}

func referral(sc match.Scores, accept, reject float64) *referralPoint {
	r := &referralPoint{Reject: reject}
	for _, x := range sc.Genuine {
		switch {
		case x > reject:
			r.Rejected++
		case x > accept:
			r.Referred++
		}
	}
	for _, x := range sc.Impostor {
		if x > accept && x <= reject {
			r.Impostors++
		}
	}
	r.Referred /= float64(len(sc.Genuine))
	r.Rejected /= float64(len(sc.Genuine))
	r.Impostors /= float64(len(sc.Impostor))
	return r
}

// groupFlags are --group NAME=ID,ID values.
type groupFlags []evalGroup

type evalGroup struct {
	name string
	ids  map[string]bool
}

func (g *groupFlags) String() string { return fmt.Sprint(len(*g), " groups") }

func (g *groupFlags) Set(v string) error {
	name, list, ok := strings.Cut(v, "=")
	if !ok || name == "" || list == "" {
		return errors.New("want NAME=SET/ID,SET/ID")
	}
	ids := map[string]bool{}
	for _, id := range strings.Split(list, ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids[id] = true
		}
	}
	*g = append(*g, evalGroup{name: name, ids: ids})
	return nil
}

// identityFolders lists the sub-folders of dir (one per identity), sorted.
func identityFolders(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, en := range ents {
		// Follow symbolic links: sets are often assembled from links to other sets.
		if st, err := os.Stat(filepath.Join(dir, en.Name())); err == nil && st.IsDir() {
			ids = append(ids, en.Name())
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%s holds no identity folders", dir)
	}
	sort.Strings(ids)
	return ids, nil
}

func regularFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, en := range ents {
		// Hidden files (.DS_Store and the like) and notes are not images.
		if en.Type().IsRegular() && !strings.HasPrefix(en.Name(), ".") && !strings.HasSuffix(en.Name(), ".md") && !strings.HasPrefix(en.Name(), "SHA256") {
			out = append(out, filepath.Join(dir, en.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}
