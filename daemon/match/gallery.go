package match

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"
)

// Gallery is an immutable 1:N search structure: every enrolled template in one contiguous
// float32 slab, plus an int8 copy with a scale per vector. Searches never lock; updates build a
// new Gallery and swap it in through an Index.
type Gallery struct {
	model string
	dims  int
	ids   []string
	pos   map[string]int
	f32   []float32 // len(ids) x dims
	sq    []float32 // squared norm of each vector
	i8    []int8    // len(ids) x dims, vector i is about scale[i] * i8[i]
	scale []float32
	k     kernels
	// fusion, when set, makes distances fused (Fusion.Distance) and aux holds the other
	// recognisers' vectors of each entry; the int8 slab stays the primary model's.
	fusion *Fusion
	aux    [][]Embedding
}

// Entry is one enrolled template.
type Entry struct {
	ID       string
	Template Template
}

// Errors a caller may match.
var (
	ErrDuplicateID = errors.New("identity enrolled twice")
	ErrEmptyID     = errors.New("empty identity id")
)

// NewGallery builds a gallery of templates of one model and dimension.
func NewGallery(model string, dims int, entries []Entry) (*Gallery, error) {
	return newGallery(model, dims, entries, bestKernels())
}

func newGallery(model string, dims int, entries []Entry, k kernels) (*Gallery, error) {
	if model == "" || dims <= 0 || dims > MaxDims {
		return nil, fmt.Errorf("gallery: model %q with %d dimensions", model, dims)
	}
	n := len(entries)
	g := &Gallery{
		model: model, dims: dims, k: k,
		ids:   make([]string, n),
		pos:   make(map[string]int, n),
		f32:   make([]float32, n*dims),
		sq:    make([]float32, n),
		i8:    make([]int8, n*dims),
		scale: make([]float32, n),
	}
	for i, e := range entries {
		if e.ID == "" {
			return nil, fmt.Errorf("gallery: entry %d: %w", i, ErrEmptyID)
		}
		if _, dup := g.pos[e.ID]; dup {
			return nil, fmt.Errorf("gallery: %q: %w", e.ID, ErrDuplicateID)
		}
		if e.Template.Model != model {
			return nil, fmt.Errorf("gallery: %q: %w: %q, gallery holds %q", e.ID, ErrModelMismatch, e.Template.Model, model)
		}
		if len(e.Template.Vector) != dims {
			return nil, fmt.Errorf("gallery: %q: %w: %d dimensions, gallery holds %d", e.ID, ErrMalformed, len(e.Template.Vector), dims)
		}
		if err := e.Template.validate(); err != nil {
			return nil, fmt.Errorf("gallery: %q: %w", e.ID, err)
		}
		g.ids[i] = e.ID
		g.pos[e.ID] = i
		row := g.f32[i*dims : (i+1)*dims]
		copy(row, e.Template.Vector)
		g.sq[i] = dotF32Go(row, row)
		g.scale[i] = quantize(row, g.i8[i*dims:(i+1)*dims])
	}
	return g, nil
}

// NewFusedGallery builds a gallery whose searches rank by the fused distance of f: a first
// pass on the primary model's int8 slab, then the shortlist reranked with the fused distance.
func NewFusedGallery(f *Fusion, entries []Entry) (*Gallery, error) {
	if f == nil {
		return nil, errors.New("gallery: no fusion")
	}
	for _, e := range entries {
		if err := f.Check(e.Template); err != nil {
			return nil, fmt.Errorf("gallery: %q: %w", e.ID, err)
		}
	}
	p := f.Parts()[0]
	g, err := newGallery(p.Model, p.Dims, entries, bestKernels())
	if err != nil {
		return nil, err
	}
	g.fusion = f
	g.aux = make([][]Embedding, len(entries))
	for i, e := range entries {
		g.aux[i] = cloneEmbeddings(e.Template.Aux)
	}
	return g, nil
}

func cloneEmbeddings(es []Embedding) []Embedding {
	out := make([]Embedding, len(es))
	for i, e := range es {
		out[i] = Embedding{Model: e.Model, Vector: append([]float32(nil), e.Vector...)}
	}
	return out
}

// quantize writes v as int8 in [-127, 127] with one scale for the vector and returns the scale.
func quantize(v []float32, out []int8) float32 {
	var m float32
	for _, x := range v {
		if a := float32(math.Abs(float64(x))); a > m {
			m = a
		}
	}
	if m == 0 {
		clear(out)
		return 0
	}
	s := m / 127
	for i, x := range v {
		out[i] = int8(math.Round(float64(x / s)))
	}
	return s
}

// Len is the number of enrolled templates.
func (g *Gallery) Len() int { return len(g.ids) }

// Model is the recognizer id of the templates.
func (g *Gallery) Model() string { return g.model }

// Kernel names the dot-product kernels in use ("avx2", "neon", "go").
func (g *Gallery) Kernel() string { return g.k.name }

// Entries returns copies of the enrolled templates, in slab order.
func (g *Gallery) Entries() []Entry {
	out := make([]Entry, len(g.ids))
	for i, id := range g.ids {
		out[i] = Entry{ID: id, Template: g.template(i)}
		out[i].Template.Vector = append([]float32(nil), out[i].Template.Vector...)
		out[i].Template.Aux = cloneEmbeddings(out[i].Template.Aux)
	}
	return out
}

// template is entry i, sharing the slab's memory.
func (g *Gallery) template(i int) Template {
	t := Template{Model: g.model, Vector: g.f32[i*g.dims : (i+1)*g.dims]}
	if g.fusion != nil {
		t.Aux = g.aux[i]
	}
	return t
}

// Fusion is the fusion the gallery ranks by, nil for a single-model euclidean gallery.
func (g *Gallery) Fusion() *Fusion { return g.fusion }

// Precision selects the representation a search scans.
type Precision int

const (
	// Float32 scans the exact vectors.
	Float32 Precision = iota
	// Int8 scans the quantised copy (a quarter of the bytes) and, with Rerank, rescores a
	// shortlist exactly.
	Int8
)

// SearchOpts configures one search.
type SearchOpts struct {
	K         int     // candidates to return, best first
	Threshold float64 // the best candidate is a match only at or below this distance
	Precision Precision
	// Rerank: with Int8, rescore this many of the nearest int8 candidates with float32
	// (at least K); 0 returns the int8 distances as they are. A fused gallery always reranks
	// (at least K) with the fused distance.
	Rerank int
}

// Candidate is one enrolled identity and its distance to the probe.
type Candidate struct {
	ID       string
	Distance float64
}

// Result is an open-set answer: Match is false when the nearest identity is farther than the
// threshold, and then the probe is "unknown", whoever happens to be nearest.
type Result struct {
	Candidates []Candidate
	Match      bool
}

// Best returns the nearest candidate when there is a match.
func (r Result) Best() (Candidate, bool) {
	if !r.Match {
		return Candidate{}, false
	}
	return r.Candidates[0], true
}

// Search finds the K nearest enrolled templates to q.
func (g *Gallery) Search(q Template, o SearchOpts) (Result, error) {
	if g.fusion != nil {
		return g.searchFused(q, o)
	}
	if q.Model != g.model {
		return Result{}, fmt.Errorf("search: %w: probe %q, gallery %q", ErrModelMismatch, q.Model, g.model)
	}
	if len(q.Vector) != g.dims {
		return Result{}, fmt.Errorf("search: %w: probe has %d dimensions, gallery %d", ErrMalformed, len(q.Vector), g.dims)
	}
	if err := q.validate(); err != nil {
		return Result{}, fmt.Errorf("search: %w", err)
	}
	if o.K <= 0 || math.IsNaN(o.Threshold) || o.Threshold < 0 {
		return Result{}, errors.New("search: K must be positive and the threshold a non-negative distance")
	}
	if len(g.ids) == 0 {
		return Result{}, nil
	}
	qsq := dotF32Go(q.Vector, q.Vector)
	var top topK
	switch o.Precision {
	case Float32:
		top = g.scanF32(q.Vector, qsq, o.K)
	case Int8:
		keep := max(o.K, o.Rerank)
		top = g.scanI8(q.Vector, qsq, keep)
		if o.Rerank > 0 {
			exact := newTopK(o.K)
			for _, c := range top.items {
				row := g.f32[c.idx*g.dims : (c.idx+1)*g.dims]
				exact.push(c.idx, sqDist(qsq, g.sq[c.idx], g.k.f32(q.Vector, row)))
			}
			top = exact
		}
		if len(top.items) > o.K {
			top.items = top.items[:o.K]
		}
	default:
		return Result{}, fmt.Errorf("search: unknown precision %d", o.Precision)
	}
	r := Result{Candidates: make([]Candidate, len(top.items))}
	for i, c := range top.items {
		r.Candidates[i] = Candidate{ID: g.ids[c.idx], Distance: math.Sqrt(float64(c.d2))}
	}
	r.Match = len(r.Candidates) > 0 && r.Candidates[0].Distance <= o.Threshold
	return r, nil
}

// searchFused ranks by the fused distance; o.Threshold is a fused distance (it may be negative).
func (g *Gallery) searchFused(q Template, o SearchOpts) (Result, error) {
	if err := g.fusion.Check(q); err != nil {
		return Result{}, fmt.Errorf("search: %w", err)
	}
	if o.K <= 0 || math.IsNaN(o.Threshold) || math.IsInf(o.Threshold, 0) {
		return Result{}, errors.New("search: K must be positive and the threshold finite")
	}
	if len(g.ids) == 0 {
		return Result{}, nil
	}
	var shortlist []int
	switch o.Precision {
	case Float32:
		shortlist = make([]int, len(g.ids))
		for i := range shortlist {
			shortlist[i] = i
		}
	case Int8:
		top := g.scanI8(q.Vector, dotF32Go(q.Vector, q.Vector), max(o.K, o.Rerank))
		for _, c := range top.items {
			shortlist = append(shortlist, c.idx)
		}
	default:
		return Result{}, fmt.Errorf("search: unknown precision %d", o.Precision)
	}
	cands := make([]Candidate, 0, len(shortlist))
	for _, i := range shortlist {
		d, err := g.fusion.Distance(q, g.template(i))
		if err != nil {
			return Result{}, fmt.Errorf("search: %w", err)
		}
		cands = append(cands, Candidate{ID: g.ids[i], Distance: d})
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].Distance < cands[j].Distance })
	if len(cands) > o.K {
		cands = cands[:o.K]
	}
	return Result{Candidates: cands, Match: cands[0].Distance <= o.Threshold}, nil
}

func sqDist(qsq, gsq, dot float32) float32 {
	return max(qsq+gsq-2*dot, 0) // rounding may take an exact match a hair below zero
}

func (g *Gallery) scanF32(q []float32, qsq float32, k int) topK {
	top := newTopK(k)
	worst := top.worst()
	d := g.dims
	for i := range g.ids {
		if d2 := qsq + g.sq[i] - 2*g.k.f32(q, g.f32[i*d:(i+1)*d]); d2 < worst {
			top.push(i, max(d2, 0))
			worst = top.worst()
		}
	}
	return top
}

func (g *Gallery) scanI8(q []float32, qsq float32, k int) topK {
	q8 := make([]int8, g.dims)
	qs := quantize(q, q8)
	q16 := make([]int16, g.dims) // widened once here rather than once per gallery vector
	for i, v := range q8 {
		q16[i] = int16(v)
	}
	top := newTopK(k)
	d := g.dims
	var dots [256]int32
	worst := top.worst()
	for start := 0; start < len(g.ids); start += len(dots) {
		n := min(len(dots), len(g.ids)-start)
		g.k.dots(q16, g.i8[start*d:(start+n)*d], dots[:n])
		sq, sc := g.sq[start:start+n], g.scale[start:start+n]
		for j, dot := range dots[:n] {
			// Most vectors cannot enter the top k: only they are skipped without a call.
			if d2 := qsq + sq[j] - 2*qs*sc[j]*float32(dot); d2 < worst {
				top.push(start+j, max(d2, 0))
				worst = top.worst()
			}
		}
	}
	return top
}

// topK keeps the k smallest distances seen, sorted ascending; k is small, so insertion into a
// short sorted slice beats a heap.
type topK struct {
	k     int
	items []scored
}

type scored struct {
	idx int
	d2  float32
}

func newTopK(k int) topK { return topK{k: k, items: make([]scored, 0, k)} }

// worst is the distance a candidate must beat to enter: +Inf until k are held.
func (t *topK) worst() float32 {
	if len(t.items) < t.k {
		return float32(math.Inf(1))
	}
	return t.items[len(t.items)-1].d2
}

func (t *topK) push(idx int, d2 float32) {
	n := len(t.items)
	if n == t.k && d2 >= t.items[n-1].d2 {
		return
	}
	if n < t.k {
		t.items = append(t.items, scored{})
	} else {
		n--
	}
	i := n
	for i > 0 && t.items[i-1].d2 > d2 {
		t.items[i] = t.items[i-1]
		i--
	}
	t.items[i] = scored{idx: idx, d2: d2}
}

// Index holds the current gallery. Searches take a snapshot without locking; writers are
// serialised and publish a whole new gallery (copy on write), so a search never sees half an
// update.
type Index struct {
	mu  sync.Mutex // serialises writers
	cur atomic.Pointer[Gallery]
}

// NewIndex starts an index at g.
func NewIndex(g *Gallery) *Index {
	x := &Index{}
	x.cur.Store(g)
	return x
}

// Snapshot is the gallery searches should use now.
func (x *Index) Snapshot() *Gallery { return x.cur.Load() }

// Replace publishes g, for example after a full template snapshot from the fleet.
func (x *Index) Replace(g *Gallery) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.cur.Store(g)
}

// Apply publishes the current gallery with the given identities added or replaced and the
// given ids removed. On error the current gallery stays as it was.
func (x *Index) Apply(upserts []Entry, deletes []string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	old := x.cur.Load()
	gone := make(map[string]bool, len(deletes)+len(upserts))
	for _, id := range deletes {
		gone[id] = true
	}
	for _, e := range upserts {
		gone[e.ID] = true
	}
	entries := make([]Entry, 0, old.Len()+len(upserts))
	for i, id := range old.ids {
		if !gone[id] {
			entries = append(entries, Entry{ID: id, Template: old.template(i)})
		}
	}
	entries = append(entries, upserts...)
	var g *Gallery
	var err error
	if old.fusion != nil {
		g, err = NewFusedGallery(old.fusion, entries)
	} else {
		g, err = newGallery(old.model, old.dims, entries, old.k)
	}
	if err != nil {
		return err
	}
	x.cur.Store(g)
	return nil
}
