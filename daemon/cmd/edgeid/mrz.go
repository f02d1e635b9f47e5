package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/edgeid/edgeid/daemon/cmd/internal/cli"
	"github.com/edgeid/edgeid/daemon/face"
	"github.com/edgeid/edgeid/daemon/mrzocr"
	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
	"github.com/edgeid/edgeid/models"
	"gocv.io/x/gocv"
)

type mrzFlags struct {
	asJSON bool
	models string
}

func (f *mrzFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.asJSON, "json", false, "print JSON")
	fs.StringVar(&f.models, "models", "", "folder with the model files (default: models/ next to the binary or in the working folder)")
}

// reader loads the MRZ classifier named in the built-in manifest.
func (f *mrzFlags) reader() (*mrzocr.Reader, error) {
	man, err := models.Builtin()
	if err != nil {
		return nil, err
	}
	md, err := man.Get(mrzocr.ModelID)
	if err != nil {
		return nil, err
	}
	dir := f.models
	if dir == "" {
		candidates := []string{"models"}
		if exe, err := os.Executable(); err == nil {
			candidates = append(candidates, filepath.Join(filepath.Dir(exe), "..", "models"), filepath.Join(filepath.Dir(exe), "models"))
		}
		candidates = append(candidates, "/usr/share/edgeid/models")
		for _, c := range candidates {
			if _, err := os.Stat(filepath.Join(c, md.File)); err == nil {
				dir = c
				break
			}
		}
		if dir == "" {
			return nil, fmt.Errorf("no folder holds %s (looked in %q); pass --models DIR", md.File, candidates)
		}
	}
	b, err := md.Load(dir)
	if err != nil {
		return nil, err
	}
	m, err := mrzocr.ParseModel(b)
	if err != nil {
		return nil, err
	}
	o := mrzocr.DefaultOpts()
	o.Model = m
	return mrzocr.New(&o)
}

// loadFrame reads and decodes an image through the face code's size limits.
func loadFrame(path string) (gocv.Mat, error) {
	lim := face.DefaultLimits()
	b, err := face.ReadFile(path, lim)
	if err != nil {
		return gocv.Mat{}, err
	}
	img, _, err := face.Decode(b, lim, path)
	return img, err
}

type mrzReport struct {
	File  string   `json:"file"`
	OK    bool     `json:"ok"`
	Type  string   `json:"type,omitempty"`
	Lines []string `json:"lines,omitempty"`
	Error string   `json:"error,omitempty"`
}

func runMRZRead(_ context.Context, e env, args []string) error {
	var f mrzFlags
	fs := newFlags(e, "mrz read", "IMAGE...")
	f.register(fs)
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return cli.Usagef("want at least one image file")
	}
	rd, err := f.reader()
	if err != nil {
		return err
	}
	var reports []mrzReport
	failed := 0
	for _, p := range pos {
		rep := mrzReport{File: p}
		res, err := readFile(rd, p)
		if err != nil {
			rep.Error = err.Error()
			failed++
		} else {
			rep.OK, rep.Type, rep.Lines = true, res.Format, res.Lines
		}
		reports = append(reports, rep)
		if !f.asJSON {
			printMRZ(e, rep, res)
		}
	}
	if f.asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(reports); err != nil {
			return err
		}
	}
	if failed > 0 {
		return &cli.ExitStatus{Code: 1, Msg: fmt.Sprintf("edgeid mrz read: %d of %d images not read", failed, len(pos))}
	}
	return nil
}

func readFile(rd *mrzocr.Reader, path string) (*mrzocr.Result, error) {
	img, err := loadFrame(path)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	return rd.Read(img)
}

func printMRZ(e env, rep mrzReport, res *mrzocr.Result) {
	if !rep.OK {
		fmt.Fprintf(e.Stdout, "%s: not read: %s\n", rep.File, rep.Error)
		return
	}
	m := res.MRZ
	fmt.Fprintf(e.Stdout, "%s: %s\n", rep.File, res.Format)
	for _, l := range res.Lines {
		fmt.Fprintf(e.Stdout, "  %s\n", l)
	}
	fmt.Fprintf(e.Stdout, "  document %s, issuer %s, number %s, nationality %s\n", m.DocumentCode, m.IssuingState, m.DocumentNumber, m.Nationality)
	fmt.Fprintf(e.Stdout, "  born %s, sex %s, expires %s\n", m.DateOfBirth, m.Sex, m.DateOfExpiry)
	fmt.Fprintf(e.Stdout, "  names %s, %s\n", m.PrimaryID, m.SecondaryID)
}

// truthRow is one line of truth.tsv: file, doc_type, line1, line2[, line3].
type truthRow struct {
	file, format string
	lines        []string
}

// readTruth parses DIR/truth.tsv; it is bounded and checks every row.
func readTruth(dir string) ([]truthRow, error) {
	path := filepath.Join(dir, "truth.tsv")
	b, err := face.ReadFile(path, face.Limits{MaxBytes: 4 << 20})
	if err != nil {
		return nil, err
	}
	if len(b) > 4<<20 {
		return nil, fmt.Errorf("%s: larger than 4 MiB", path)
	}
	rows, err := parseTruth(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rows, nil
}

func parseTruth(b []byte) ([]truthRow, error) {
	var rows []truthRow
	sc := bufio.NewScanner(bytes.NewReader(b))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if n == 1 {
			if !strings.HasPrefix(line, "file\t") {
				return nil, errors.New("line 1: want the header row file, doc_type, line1, line2, line3")
			}
			continue
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 4 || len(f) > 5 {
			return nil, fmt.Errorf("line %d: %d columns, want 4 or 5", n, len(f))
		}
		r := truthRow{file: f[0], format: f[1], lines: []string{f[2], f[3]}}
		if len(f) == 5 && f[4] != "" {
			r.lines = append(r.lines, f[4])
		}
		if r.file == "" || filepath.Base(r.file) != r.file {
			return nil, fmt.Errorf("line %d: file must be a bare name in the folder", n)
		}
		if _, err := mrz.ParseMRZ(strings.Join(r.lines, "\n")); err != nil {
			return nil, fmt.Errorf("line %d: the truth itself does not parse: %w", n, err)
		}
		if m, _ := mrz.ParseMRZ(strings.Join(r.lines, "\n")); m.Format != r.format {
			return nil, fmt.Errorf("line %d: doc_type %q, but the lines are %s", n, r.format, m.Format)
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, errors.New("no rows")
	}
	return rows, nil
}

// evalStats is one reader's outcome over a set. No MRZ text goes into it.
type evalStats struct {
	Reader        string  `json:"reader"`
	Documents     int     `json:"documents"`
	Right         int     `json:"right"`
	Refused       int     `json:"refused"`
	WrongAccepted int     `json:"wrong_accepted"`
	CharAccuracy  float64 `json:"char_accuracy"`
	MsPerFrame    float64 `json:"ms_per_frame"`
	chars, good   int
	elapsed       time.Duration
}

func (s *evalStats) add(t truthRow, accepted bool, lines []string, d time.Duration) {
	s.Documents++
	s.elapsed += d
	want := strings.Join(t.lines, "\n")
	got := strings.Join(lines, "\n")
	switch {
	case accepted && got == want:
		s.Right++
	case accepted:
		s.WrongAccepted++
	default:
		s.Refused++
	}
	for i := 0; i < len(want); i++ {
		if want[i] == '\n' {
			continue
		}
		s.chars++
		if i < len(got) && got[i] == want[i] {
			s.good++
		}
	}
}

func (s *evalStats) finish() {
	if s.chars > 0 {
		s.CharAccuracy = float64(s.good) / float64(s.chars)
	}
	if s.Documents > 0 {
		s.MsPerFrame = float64(s.elapsed.Microseconds()) / 1000 / float64(s.Documents)
	}
}

func runMRZEval(ctx context.Context, e env, args []string) error {
	var f mrzFlags
	fs := newFlags(e, "mrz eval", "DIR")
	f.register(fs)
	peer := fs.String("peer", "", "also run a peer on the same images: tesseract (the tesseract CLI, MRZ whitelist, one thread)")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("want one folder holding truth.tsv and its images")
	}
	if *peer != "" && *peer != "tesseract" {
		return cli.Usagef("--peer: only tesseract is known")
	}
	rows, err := readTruth(pos[0])
	if err != nil {
		return err
	}
	rd, err := f.reader()
	if err != nil {
		return err
	}
	own := &evalStats{Reader: "edgeid"}
	tess := &evalStats{Reader: "tesseract"}
	for _, t := range rows {
		if err := ctx.Err(); err != nil {
			return err
		}
		path := filepath.Join(pos[0], t.file)
		img, err := loadFrame(path)
		if err != nil {
			return err
		}
		start := time.Now()
		res, rerr := rd.Read(img)
		d := time.Since(start)
		var lines []string
		if rerr == nil {
			lines = res.Lines
		} else {
			lines = rd.Guess(img)
		}
		img.Close()
		own.add(t, rerr == nil, lines, d)
		if *peer == "tesseract" {
			start := time.Now()
			lines, ok, err := tesseractMRZ(ctx, path)
			if err != nil {
				return err
			}
			tess.add(t, ok, lines, time.Since(start))
		}
	}
	stats := []*evalStats{own}
	if *peer != "" {
		stats = append(stats, tess)
	}
	for _, s := range stats {
		s.finish()
	}
	if f.asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(stats)
	}
	fmt.Fprintf(e.Stdout, "%-10s %5s %6s %8s %15s %10s %9s\n", "reader", "docs", "right", "refused", "wrong_accepted", "char_acc", "ms/frame")
	for _, s := range stats {
		fmt.Fprintf(e.Stdout, "%-10s %5d %6d %8d %15d %9.2f%% %9.1f\n", s.Reader, s.Documents, s.Right, s.Refused, s.WrongAccepted, 100*s.CharAccuracy, s.MsPerFrame)
	}
	if own.WrongAccepted > 0 {
		return &cli.ExitStatus{Code: 1, Msg: fmt.Sprintf("edgeid mrz eval: %d documents read wrong but accepted", own.WrongAccepted)}
	}
	return nil
}
