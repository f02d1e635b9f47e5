package mrzocr

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
)

// scoreRow holds one cell's score for every class of Alphabet.
type scoreRow [len(Alphabet)]float32

// Field types of MRZ positions: which characters may stand there.
const (
	tAlpha = 'A' // A-Z and '<' (names, codes, nationality)
	tNum   = 'N' // 0-9 and '<' (dates, check digits that may be '<')
	tDigit = 'D' // 0-9 only (composite check digit)
	tSex   = 'S' // M, F, X, '<'
	tAny   = 'X' // document numbers, optional data
)

// layouts gives each format's field types per line (ICAO 9303 parts 4-6).
var layouts = map[string][]string{
	mrz.TD3: {
		strings.Repeat("A", 44),
		"XXXXXXXXXN" + "AAA" + "NNNNNN" + "N" + "S" + "NNNNNN" + "N" + strings.Repeat("X", 14) + "N" + "D",
	},
	mrz.TD2: {
		strings.Repeat("A", 36),
		"XXXXXXXXXN" + "AAA" + "NNNNNN" + "N" + "S" + "NNNNNN" + "N" + "XXXXXXX" + "D",
	},
	mrz.TD1: {
		"AAAAA" + "XXXXXXXXX" + "N" + strings.Repeat("X", 15),
		"NNNNNN" + "N" + "S" + "NNNNNN" + "N" + "AAA" + strings.Repeat("X", 11) + "D",
		strings.Repeat("A", 30),
	},
}

func allowed(t byte, c byte) bool {
	switch t {
	case tAlpha:
		return c == '<' || (c >= 'A' && c <= 'Z')
	case tNum:
		return c == '<' || (c >= '0' && c <= '9')
	case tDigit:
		return c >= '0' && c <= '9'
	case tSex:
		return c == 'M' || c == 'F' || c == 'X' || c == '<'
	}
	return true
}

// pos is a character position: line and column, 0-based.
type pos struct{ l, c int }

// span lists the positions l, c0..c1-1.
func span(l, c0, c1 int) []pos {
	var p []pos
	for c := c0; c < c1; c++ {
		p = append(p, pos{l, c})
	}
	return p
}

func cat(ps ...[]pos) []pos {
	var out []pos
	for _, p := range ps {
		out = append(out, p...)
	}
	return out
}

// checked is a run of positions guarded by a check digit.
type checked struct {
	name   string
	field  []pos
	digit  pos
	filler bool // an all-filler field may carry '<' as its check digit
}

// checks lists a format's check digits, the composite last.
func checks(format string) []checked {
	switch format {
	case mrz.TD3:
		return []checked{
			{"document number", span(1, 0, 9), pos{1, 9}, false},
			{"date of birth", span(1, 13, 19), pos{1, 19}, false},
			{"date of expiry", span(1, 21, 27), pos{1, 27}, false},
			{"personal number", span(1, 28, 42), pos{1, 42}, true},
			{"composite", cat(span(1, 0, 10), span(1, 13, 20), span(1, 21, 43)), pos{1, 43}, false},
		}
	case mrz.TD2:
		return []checked{
			{"document number", span(1, 0, 9), pos{1, 9}, false},
			{"date of birth", span(1, 13, 19), pos{1, 19}, false},
			{"date of expiry", span(1, 21, 27), pos{1, 27}, false},
			{"composite", cat(span(1, 0, 10), span(1, 13, 20), span(1, 21, 35)), pos{1, 35}, false},
		}
	}
	return []checked{
		{"document number", span(0, 5, 14), pos{0, 14}, false},
		{"date of birth", span(1, 0, 6), pos{1, 6}, false},
		{"date of expiry", span(1, 8, 14), pos{1, 14}, false},
		{"composite", cat(span(0, 5, 30), span(1, 0, 7), span(1, 8, 15), span(1, 18, 29)), pos{1, 29}, false},
	}
}

// DecodeOpts are the decoder's confidence gates.
type DecodeOpts struct {
	MinScore   float32 // every character's correlation at least this
	MinMargin  float32 // lead over the runner-up where no check digit guards the character
	MaxSwap    float32 // a correction may take a runner-up at most this far below the best
	MaxChanges int     // corrections per check-digit field
	// PairMargin is the lead a character in a mixed letter-and-digit field needs over its
	// look-alike (0/O, 1/I, 2/Z, 5/S, 8/B), which check digits cannot always tell apart.
	PairMargin float32
}

// DefaultDecodeOpts are measured on synthetic sets (`edgeid mrz eval`), never on the real
// specimens alone.
func DefaultDecodeOpts() DecodeOpts {
	return DecodeOpts{MinScore: 0.45, MinMargin: 0.03, MaxSwap: 0.12, MaxChanges: 2, PairMargin: 0.05}
}

// ErrUnsure is wrapped by refusals: the MRZ was found but not read with certainty.
var ErrUnsure = errors.New("mrz: not read with certainty")

// decode turns per-cell scores into MRZ lines: the best character each position's field type
// allows, then check-digit corrections (a field whose check digit fails takes the runner-up
// characters, 0/O 1/I 2/Z 5/S 8/B first among them by score, that make it pass with the least
// loss), then the confidence gates and the emrtd parser. Errors name positions, never text.
func decode(format string, sc [][]scoreRow, o DecodeOpts) ([]string, error) {
	lay, ok := layouts[format]
	if !ok || len(sc) != len(lay) {
		return nil, fmt.Errorf("mrz: %d lines for %s", len(sc), format)
	}
	lines := make([][]byte, len(lay))
	for l, types := range lay {
		if len(sc[l]) != len(types) {
			return nil, fmt.Errorf("mrz: line %d has %d cells, %s wants %d", l+1, len(sc[l]), format, len(types))
		}
		lines[l] = make([]byte, len(types))
		for c := range types {
			ch, s := best(sc[l][c], types[c], 0)
			if s < o.MinScore {
				return nil, fmt.Errorf("%w: line %d col %d is unclear (score %.2f)", ErrUnsure, l+1, c+1, s)
			}
			lines[l][c] = ch
		}
	}
	// A position only the composite guards (optional data) is checked like one no digit
	// guards: the composite is one digit over some thirty characters, too weak to correct by.
	// Letters and digits mixed in one field (document numbers, optional data) can hide two
	// compensating misreads from a check digit ("00" and "OO" weigh alike at weights 7 and 3),
	// so their characters need a clear lead too, unless a correction chose them.
	guarded := map[pos]bool{}
	fixed := map[pos]bool{}
	for _, ck := range checks(format) {
		if ck.name != "composite" {
			for _, p := range ck.field {
				guarded[p] = lay[p.l][p.c] != tAny
			}
		}
		guarded[ck.digit] = true
		changed, err := correct(lines, sc, lay, ck, o)
		if err != nil {
			return nil, err
		}
		for _, p := range changed {
			fixed[p] = true
		}
	}
	for l, types := range lay {
		for c := range types {
			if types[c] == tAny && !fixed[pos{l, c}] {
				if p, ok := lookAlike[lines[l][c]]; ok {
					s := sc[l][c]
					if s[strings.IndexByte(Alphabet, lines[l][c])]-s[strings.IndexByte(Alphabet, p)] < o.PairMargin {
						return nil, fmt.Errorf("%w: line %d col %d: a letter and a digit look alike there", ErrUnsure, l+1, c+1)
					}
				}
			}
			if guarded[pos{l, c}] || fixed[pos{l, c}] {
				continue
			}
			b, s1 := best(sc[l][c], types[c], 0)
			_, s2 := best(sc[l][c], types[c], b)
			if s1-s2 < o.MinMargin {
				return nil, fmt.Errorf("%w: line %d col %d is ambiguous (margin %.3f)", ErrUnsure, l+1, c+1, s1-s2)
			}
		}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = string(l)
	}
	if _, err := mrz.ParseMRZ(strings.Join(out, "\n")); err != nil {
		var me *mrz.MRZError
		if errors.As(err, &me) {
			return nil, fmt.Errorf("%w: %s (line %d col %d) does not parse", ErrUnsure, me.Field, me.Line, me.Col)
		}
		return nil, fmt.Errorf("%w: the read does not parse", ErrUnsure)
	}
	return out, nil
}

// lookAlike pairs the OCR-B letters and digits a blurred camera confuses.
var lookAlike = map[byte]byte{'0': 'O', 'O': '0', '1': 'I', 'I': '1', '2': 'Z', 'Z': '2', '5': 'S', 'S': '5', '8': 'B', 'B': '8'}

// best returns the highest-scoring character allowed by type t, other than not.
func best(s scoreRow, t byte, not byte) (byte, float32) {
	var bc byte
	bs := float32(math.Inf(-1))
	for i := 0; i < len(Alphabet); i++ {
		c := Alphabet[i]
		if c != not && allowed(t, c) && s[i] > bs {
			bc, bs = c, s[i]
		}
	}
	return bc, bs
}

func passes(lines [][]byte, ck checked) bool {
	v := make([]byte, len(ck.field))
	allFill := true
	for i, p := range ck.field {
		v[i] = lines[p.l][p.c]
		allFill = allFill && v[i] == '<'
	}
	d := lines[ck.digit.l][ck.digit.c]
	if ck.filler && allFill && d == '<' {
		return true
	}
	want, err := mrz.CheckDigit(string(v))
	return err == nil && want == d
}

type swap struct {
	p    pos
	c    byte
	loss float32
}

// correct makes the check digit of ck pass with the fewest, cheapest runner-up substitutions
// within o.MaxSwap of each position's best; a field that cannot be made to pass is refused.
func correct(lines [][]byte, sc [][]scoreRow, lay []string, ck checked, o DecodeOpts) ([]pos, error) {
	if passes(lines, ck) {
		return nil, nil
	}
	// TD1/TD2 long document numbers put '<' at the check digit: the parser checks those.
	if ck.name == "document number" && lines[ck.digit.l][ck.digit.c] == '<' {
		return nil, nil
	}
	// The composite may only correct its own digit (see decode).
	cand := append(append([]pos(nil), ck.field...), ck.digit)
	if ck.name == "composite" {
		cand = []pos{ck.digit}
	}
	var alts []swap
	for _, p := range cand {
		cur := lines[p.l][p.c]
		s := sc[p.l][p.c]
		top := s[strings.IndexByte(Alphabet, cur)]
		for i := 0; i < len(Alphabet); i++ {
			c := Alphabet[i]
			if c == cur || !allowed(lay[p.l][p.c], c) {
				continue
			}
			if loss := top - s[i]; loss <= o.MaxSwap {
				alts = append(alts, swap{p, c, loss})
			}
		}
	}
	apply := func(ss []swap) []byte {
		old := make([]byte, len(ss))
		for i, s := range ss {
			old[i] = lines[s.p.l][s.p.c]
			lines[s.p.l][s.p.c] = s.c
		}
		return old
	}
	undo := func(ss []swap, old []byte) {
		for i := len(ss) - 1; i >= 0; i-- {
			lines[ss[i].p.l][ss[i].p.c] = old[i]
		}
	}
	// Fewest substitutions first; among fixes of one size the cheapest wins, and two fixes
	// that cost about the same are a guess, so the field is refused.
	for n := 1; n <= o.MaxChanges && n <= 2; n++ {
		var fix []swap
		bestLoss, second := float32(math.Inf(1)), float32(math.Inf(1))
		consider := func(ss ...swap) {
			var loss float32
			for _, s := range ss {
				loss += s.loss
			}
			if loss >= second {
				return
			}
			old := apply(ss)
			ok := passes(lines, ck)
			undo(ss, old)
			if !ok {
				return
			}
			if loss < bestLoss {
				second, bestLoss, fix = bestLoss, loss, append([]swap(nil), ss...)
			} else {
				second = loss
			}
		}
		for i, a := range alts {
			if n == 1 {
				consider(a)
				continue
			}
			for _, b := range alts[i+1:] {
				if b.p != a.p {
					consider(a, b)
				}
			}
		}
		if fix != nil {
			if second-bestLoss < 0.02 {
				return nil, fmt.Errorf("%w: %s: more than one correction fits its check digit", ErrUnsure, ck.name)
			}
			apply(fix)
			var changed []pos
			for _, f := range fix {
				changed = append(changed, f.p)
			}
			return changed, nil
		}
	}
	return nil, fmt.Errorf("%w: %s: check digit fails and no close reading passes", ErrUnsure, ck.name)
}
