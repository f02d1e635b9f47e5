// Command mrz-synth writes a synthetic MRZ test set: hand-held camera frames of generated
// documents (OCR-B from Debian's fonts-ocr-b) and a truth.tsv in the layout `edgeid mrz eval`
// reads. The sets are generated at test or bench time into a temporary folder, never committed.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgeid/edgeid/daemon/mrzocr/mrzsynth"
	"gocv.io/x/gocv"
)

func main() {
	n := flag.Int("n", 100, "documents to generate")
	seed := flag.Uint64("seed", 1, "random seed (the same seed gives the same set)")
	fontDir := flag.String("fonts", mrzsynth.FontDir, "folder of the OCR-B OpenType fonts (fonts-ocr-b)")
	width := flag.Int("width", 0, "frame width (0: random 640..1920, with -height)")
	height := flag.Int("height", 0, "frame height")
	png := flag.Bool("png", false, "write PNG (lossless) instead of JPEG")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: mrz-synth [flags] OUTDIR\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *n, *seed, *fontDir, *width, *height, *png); err != nil {
		fmt.Fprintln(os.Stderr, "mrz-synth:", err)
		os.Exit(2)
	}
}

func run(dir string, n int, seed uint64, fontDir string, w, h int, png bool) error {
	f, err := mrzsynth.LoadFont(fontDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(seed, 0x6d727a))
	var truth strings.Builder
	truth.WriteString("file\tdoc_type\tline1\tline2\tline3\n")
	formats := []string{"TD3", "TD1", "TD2"}
	for i := 0; i < n; i++ {
		d := mrzsynth.RandomDoc(r, formats[i%len(formats)])
		c := mrzsynth.RandomCapture(r)
		if w > 0 && h > 0 {
			c.Width, c.Height = w, h
		}
		img, err := mrzsynth.Render(r, f, d, c)
		if err != nil {
			return err
		}
		name := fmt.Sprintf("%04d.jpg", i)
		params := []int{gocv.IMWriteJpegQuality, 70 + r.IntN(26)}
		if png {
			name, params = fmt.Sprintf("%04d.png", i), []int{gocv.IMWritePngCompression, 3}
		}
		ok := gocv.IMWriteWithParams(filepath.Join(dir, name), img, params)
		img.Close()
		if !ok {
			return fmt.Errorf("writing %s failed", name)
		}
		l3 := ""
		if len(d.Lines) == 3 {
			l3 = d.Lines[2]
		}
		fmt.Fprintf(&truth, "%s\t%s\t%s\t%s\t%s\n", name, d.Type, d.Lines[0], d.Lines[1], l3)
	}
	return os.WriteFile(filepath.Join(dir, "truth.tsv"), []byte(truth.String()), 0o644)
}
