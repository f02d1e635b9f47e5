package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/edgeid/edgeid/daemon/cmd/internal/cli"
	"github.com/edgeid/edgeid/daemon/match"
	"github.com/edgeid/edgeid/internal/atomicfile"
)

// evalTargets are the false-accept rates the evaluation reports thresholds for.
var evalTargets = [...]float64{1e-2, 1e-3, 1e-4}

type evalUnusable struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

type evalReport struct {
	Sets       []string               `json:"sets"`
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
	Curve      [][3]float64           `json:"curve,omitempty"` // threshold, FAR, FRR
}

type evalSample struct {
	identity string
	tmpl     match.Template
}

func runFaceEval(_ context.Context, e env, args []string) error {
	var ff faceFlags
	fs := newFlags(e, "face eval", "DIR...")
	ff.register(fs)
	rocPath := fs.String("roc", "", "also write the report with the whole ROC curve as JSON to this file")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return cli.Usagef("want at least one folder holding one folder per identity")
	}
	eng, _, err := ff.engine(false)
	if err != nil {
		return err
	}
	defer eng.Close()

	rep := evalReport{Sets: pos, Model: eng.ModelID(), Gates: ff.gates, Unusable: []evalUnusable{}}
	var samples []evalSample
	for _, dir := range pos {
		ids, err := identityFolders(dir)
		if err != nil {
			return err
		}
		rep.Identities += len(ids)
		for _, id := range ids {
			files, err := regularFiles(filepath.Join(dir, id))
			if err != nil {
				return err
			}
			for _, f := range files {
				rep.Images++
				a, _, err := analyzeFile(eng, f, ff.gates)
				if err != nil {
					rep.Unusable = append(rep.Unusable, evalUnusable{File: f, Reason: strings.TrimPrefix(err.Error(), f+": ")})
					continue
				}
				samples = append(samples, evalSample{identity: filepath.Base(dir) + "/" + id, tmpl: a.Template})
			}
		}
	}
	rep.Usable = len(samples)

	var scores match.Scores
	for i := range samples {
		for j := i + 1; j < len(samples); j++ {
			d, err := match.Distance(samples[i].tmpl, samples[j].tmpl)
			if err != nil {
				return err
			}
			if samples[i].identity == samples[j].identity {
				scores.Genuine = append(scores.Genuine, d)
			} else {
				scores.Impostor = append(scores.Impostor, d)
			}
		}
	}
	roc, err := match.ComputeROC(scores, evalTargets[:]...)
	if err != nil {
		return err
	}
	rep.Genuine, rep.Impostor = roc.GenuinePairs, roc.ImpostorPairs
	rep.EER, rep.EERThresh, rep.Points = roc.EER, roc.EERThreshold, roc.Points

	if *rocPath != "" {
		full := rep
		full.Curve = roc.Curve
		b, err := json.MarshalIndent(full, "", "  ")
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFile(*rocPath, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if ff.asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	w := e.Stdout
	fmt.Fprintf(w, "sets %v, model %s, quality gates %v\n", rep.Sets, rep.Model, rep.Gates)
	fmt.Fprintf(w, "identities %d, images %d, usable %d, genuine pairs %d, impostor pairs %d\n",
		rep.Identities, rep.Images, rep.Usable, rep.Genuine, rep.Impostor)
	fmt.Fprintf(w, "EER %.2f%% at distance %.4f\n", 100*rep.EER, rep.EERThresh)
	for _, p := range rep.Points {
		note := ""
		if !p.Resolvable {
			note = fmt.Sprintf(" (not resolvable: fewer than %.0f impostor pairs; threshold accepts none)", 1/p.TargetFAR)
		}
		fmt.Fprintf(w, "FAR <= %g%%: threshold %.4f, FAR %.3f%%, FRR %.2f%%%s\n", 100*p.TargetFAR, p.Threshold, 100*p.FAR, 100*p.FRR, note)
	}
	if len(rep.Unusable) > 0 {
		fmt.Fprintf(w, "no usable face in %d image(s):\n", len(rep.Unusable))
		for _, u := range rep.Unusable {
			fmt.Fprintf(w, "  %s: %s\n", u.File, u.Reason)
		}
	}
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
		// Hidden files (.DS_Store and the like) are not images.
		if en.Type().IsRegular() && !strings.HasPrefix(en.Name(), ".") {
			out = append(out, filepath.Join(dir, en.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}
