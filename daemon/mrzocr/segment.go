package mrzocr

import (
	"math"
	"sort"
)

// textLine is one line of text found in a rectified crop: its ink extent and geometry.
type textLine struct {
	left, right float64 // ink extent along the line
	mid, slope  float64 // centre row at x = 0 and its change per column
	top, bot    float64 // ink above and below the centre row (top < 0 < bot)
}

// inkMap marks pixels darker than their neighbourhood: robust to glare and uneven light.
func inkMap(g *grey) []bool {
	w, h := g.w, g.h
	sum := make([]int64, (w+1)*(h+1)) // integral image
	for y := 0; y < h; y++ {
		var row int64
		for x := 0; x < w; x++ {
			row += int64(g.pix[y*w+x])
			sum[(y+1)*(w+1)+x+1] = sum[y*(w+1)+x+1] + row
		}
	}
	const r = 20
	ink := make([]bool, w*h)
	for y := 0; y < h; y++ {
		y0, y1 := max(0, y-r), min(h, y+r+1)
		for x := 0; x < w; x++ {
			x0, x1 := max(0, x-r), min(w, x+r+1)
			s := sum[y1*(w+1)+x1] - sum[y0*(w+1)+x1] - sum[y1*(w+1)+x0] + sum[y0*(w+1)+x0]
			mean := float64(s) / float64((x1-x0)*(y1-y0))
			ink[y*w+x] = float64(g.pix[y*w+x]) < mean-math.Max(10, 0.12*mean)
		}
	}
	dropEdges(w, h, ink)
	return ink
}

// findLines finds the long text lines of a crop, top to bottom.
func findLines(g *grey, ink []bool) []textLine {
	w, h := g.w, g.h
	rows := make([]int, h)
	maxRow := 0
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if ink[y*w+x] {
				rows[y]++
			}
		}
		maxRow = max(maxRow, rows[y])
	}
	if maxRow == 0 {
		return nil
	}
	type run struct{ y0, y1 int }
	var runs []run
	thr := max(3, maxRow/5)
	for y := 0; y < h; {
		if rows[y] < thr {
			y++
			continue
		}
		y0 := y
		for y < h && rows[y] >= thr {
			y++
		}
		if y-y0 >= 4 {
			runs = append(runs, run{y0, y})
		}
	}
	var lines []textLine
	for _, rn := range runs {
		if l, ok := measureLine(g, ink, rn.y0, rn.y1); ok {
			lines = append(lines, l)
		}
	}
	// Keep the lines about as long as the longest: MRZ lines all span the zone.
	longest := 0.0
	for _, l := range lines {
		longest = math.Max(longest, l.right-l.left)
	}
	var out []textLine
	for _, l := range lines {
		if l.right-l.left >= 0.8*longest {
			out = append(out, l)
		}
	}
	return out
}

// measureLine finds a line's extent, tilt and height from the ink in rows y0..y1.
func measureLine(g *grey, ink []bool, y0, y1 int) (textLine, bool) {
	w, h := g.w, g.h
	hh := y1 - y0
	b0, b1 := max(0, y0-hh/3), min(h, y1+hh/3)
	cols := make([]int, w)
	for y := b0; y < b1; y++ {
		for x := 0; x < w; x++ {
			if ink[y*w+x] {
				cols[x]++
			}
		}
	}
	// The longest cluster of inked columns with gaps shorter than about two characters.
	gap := int(0.045 * float64(w))
	bestL, bestR, l, last := -1, -1, -1, -1
	// A column inked over nearly the whole band is the edge of the page against a dark
	// background, not a character (whose ink never fills the band: it has room above and below).
	full := int(0.8 * float64(b1-b0))
	// Noise specks ink a pixel or two of a column; a character's stroke inks more.
	least := max(2, int(0.1*float64(b1-b0)))
	for x := 0; x < w; x++ {
		if cols[x] < least || cols[x] >= full {
			continue
		}
		if l < 0 || x-last > gap {
			l = x
		}
		last = x
		if last-l > bestR-bestL {
			bestL, bestR = l, last
		}
	}
	// Lines start with a letter or digit, whose strokes ink a good part of a column; specks of
	// noise before it do not.
	for bestL >= 0 && bestL < bestR && cols[bestL] < int(0.25*float64(b1-b0)) {
		bestL++
	}
	// ...then back over the glyph's own thinner columns (a serif) that touch it.
	for bestL > 0 && cols[bestL-1] > 0 {
		bestL--
	}
	if bestL < 0 || bestR-bestL < w/3 {
		return textLine{}, false
	}
	// Tilt: the ink's centre row in the left and right quarters.
	centre := func(xa, xb int) (float64, bool) {
		var s, n float64
		for y := b0; y < b1; y++ {
			for x := xa; x < xb; x++ {
				if ink[y*w+x] {
					s += float64(y)
					n++
				}
			}
		}
		return s / math.Max(n, 1), n > 0
	}
	q := (bestR - bestL) / 4
	cl, okl := centre(bestL, bestL+q)
	cr, okr := centre(bestR-q, bestR+1)
	if !okl || !okr {
		return textLine{}, false
	}
	xl, xr := float64(bestL)+float64(q)/2, float64(bestR)-float64(q)/2
	slope := (cr - cl) / (xr - xl)
	if math.Abs(slope) > 0.06 {
		return textLine{}, false
	}
	mid := cl - slope*xl
	// Height: the spread of the ink's rows about the centre line.
	var dys []float64
	for y := b0; y < b1; y++ {
		for x := bestL; x <= bestR; x++ {
			if ink[y*w+x] {
				dys = append(dys, float64(y)-(mid+slope*float64(x)))
			}
		}
	}
	sort.Float64s(dys)
	top, bot := dys[len(dys)*2/100], dys[len(dys)*98/100]
	if bot-top < 4 {
		return textLine{}, false
	}
	// Printed characters ink a fraction of their line's box; an edge against a dark
	// background or a photo inks nearly all of it.
	if fill := float64(len(dys)) / ((bot - top) * float64(bestR-bestL+1)); fill > 0.6 {
		return textLine{}, false
	}
	return textLine{left: float64(bestL), right: float64(bestR + 1), mid: mid, slope: slope, top: top, bot: bot}, true
}

// grid is where a zone's character cells lie: cell k spans x(k) to x(k+1) with
// x(k) = x0 + pitch*k + bend*k*k, the bend taking up the foreshortening of a page in
// perspective.
type grid struct{ x0, pitch, bend float64 }

func (gr grid) x(k float64) float64 { return gr.x0 + gr.pitch*k + gr.bend*k*k }

// centre is the middle of cell i, moved by d cells.
func (gr grid) centre(i int, d float64) float64 { return gr.x(float64(i) + 0.5 + d) }

// width is the width of cell i.
func (gr grid) width(i int) float64 { return gr.x(float64(i+1)) - gr.x(float64(i)) }

// cells places n character cells on all lines of a zone (its lines share the left margin and
// the pitch): the grid that puts the least ink on the cell borders and leaves none outside.
func cells(g *grey, ink []bool, ls []textLine, n int) grid {
	w := g.w
	prof := make([]float64, w)
	left, right := math.Inf(1), math.Inf(-1)
	for _, l := range ls {
		left, right = math.Min(left, l.left), math.Max(right, l.right)
		for x := 0; x < w; x++ {
			c := l.mid + l.slope*float64(x)
			for y := int(c + l.top); y <= int(c+l.bot); y++ {
				if y >= 0 && y < g.h && ink[y*w+x] {
					prof[x]++
				}
			}
		}
	}
	at := func(x float64) float64 {
		i := int(math.Round(x))
		if i < 0 || i >= w {
			return 0
		}
		return prof[i]
	}
	span := right - left
	p0 := span / (float64(n) - 0.3)
	best := math.Inf(1)
	var out grid
	nn := float64(n)
	for bi := -4; bi <= 4; bi++ {
		// bend*n*n shifts the last cell by up to 0.4 pitch either way.
		bend := float64(bi) * 0.1 * p0 / (nn * nn)
		for pi := -16; pi <= 16; pi++ {
			p := p0*(1+float64(pi)*0.004) - bend*nn
			for si := 0; si <= 16; si++ {
				gr := grid{left - float64(si)/16*0.5*p, p, bend}
				if gr.x(nn) < right-0.05*p {
					continue
				}
				cost := 0.0
				for k := 0; k <= n; k++ {
					x := gr.x(float64(k))
					cost += at(x) + 0.5*(at(x-1)+at(x+1))
				}
				if cost < best {
					best, out = cost, gr
				}
			}
		}
	}
	return out
}

// feature samples the cell centred at column cx, pitch wide, into f (dims values), normalised.
func feature(g *grey, l textLine, cx, pitch float64, f []float32) bool {
	hc := l.bot - l.top
	y0 := l.top - 0.12*hc
	y1 := l.bot + 0.12*hc
	for j := 0; j < FeatH; j++ {
		dy := y0 + (float64(j)+0.5)/FeatH*(y1-y0)
		for i := 0; i < FeatW; i++ {
			x := cx + ((float64(i)+0.5)/FeatW-0.5)*0.9*pitch
			y := l.mid + l.slope*x + dy
			f[j*FeatW+i] = 255 - g.at(x, y)
		}
	}
	return normalise(f)
}

// recentre moves a cell's centre to the ink centroid of its glyph: the centroid of the ink
// columns within the cell, weighted toward the middle so a neighbour's edge pulls little,
// and moved at most a fifth of the pitch.
func recentre(g *grey, ink []bool, l textLine, cx, pitch float64) float64 {
	var s, n float64
	half := 0.5 * pitch
	for x := int(cx - half); x <= int(cx+half); x++ {
		if x < 0 || x >= g.w {
			continue
		}
		wt := 1 - math.Abs(float64(x)-cx)/half
		if wt <= 0 {
			continue
		}
		c := l.mid + l.slope*float64(x)
		for y := int(c + l.top); y <= int(c+l.bot); y++ {
			if y >= 0 && y < g.h && ink[y*g.w+x] {
				s += wt * float64(x)
				n += wt
			}
		}
	}
	if n == 0 {
		return cx
	}
	d := s/n - cx
	return cx + math.Max(-0.2*pitch, math.Min(0.2*pitch, d))
}

// dropEdges removes ink components far taller or wider than characters (the page's edges
// against the background, rules) and specks of noise, which would otherwise widen a line.
func dropEdges(w, h int, ink []bool) {
	seen := make([]bool, len(ink))
	var stack, comp []int
	for i := range ink {
		if !ink[i] || seen[i] {
			continue
		}
		stack, comp = append(stack[:0], i), comp[:0]
		seen[i] = true
		x0, x1, y0, y1 := w, -1, h, -1
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			comp = append(comp, p)
			x, y := p%w, p/w
			x0, x1, y0, y1 = min(x0, x), max(x1, x), min(y0, y), max(y1, y)
			for _, q := range [4]int{p - 1, p + 1, p - w, p + w} {
				if q < 0 || q >= len(ink) || seen[q] || !ink[q] || (q == p-1 && x == 0) || (q == p+1 && x == w-1) {
					continue
				}
				seen[q] = true
				stack = append(stack, q)
			}
		}
		if float64(y1-y0) > 0.4*float64(h) || float64(x1-x0) > 0.25*float64(w) || len(comp) < 6 {
			for _, p := range comp {
				ink[p] = false
			}
		}
	}
}
