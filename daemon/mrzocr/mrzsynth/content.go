// Package mrzsynth generates synthetic machine-readable zones and renders them in OCR-B on
// document-like pages photographed by a hand-held camera (perspective, rotation, blur, noise,
// glare). It makes training material for the MRZ reader's classifier and test sets that are
// not the handful of real specimens: nothing in it describes a real person.
package mrzsynth

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
)

// Doc is one generated MRZ: its format (mrz.TD1, TD2 or TD3) and its lines.
type Doc struct {
	Type  string
	Lines []string
}

const (
	letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digits  = "0123456789"
)

var states = []string{"D<<", "FRA", "UTO", "NLD", "ESP", "ITA", "GBR", "USA", "CAN", "JPN", "CHN", "AUS", "BEL", "AUT", "SWE", "POL", "CZE", "PRT", "IRL", "FIN"}

func pick(r *rand.Rand, set string) byte { return set[r.IntN(len(set))] }

func randWord(r *rand.Rand, min, max int) string {
	n := min + r.IntN(max-min+1)
	b := make([]byte, n)
	for i := range b {
		b[i] = pick(r, letters)
	}
	return string(b)
}

func pad(s string, n int) string {
	if len(s) >= n {
		return s[:n]
	}
	return s + strings.Repeat("<", n-len(s))
}

func cd(s string) string {
	c, err := mrz.CheckDigit(s)
	if err != nil {
		panic(fmt.Sprintf("mrzsynth: check digit of generated %q: %v", s, err)) // generator bug, not input
	}
	return string(c)
}

func date(r *rand.Rand, y0, y1 int) string {
	y := y0 + r.IntN(y1-y0+1)
	return fmt.Sprintf("%02d%02d%02d", y%100, 1+r.IntN(12), 1+r.IntN(28))
}

// docNumber mixes letters and digits, as many real numbers do: the hard case for 0/O and 1/I.
func docNumber(r *rand.Rand) string {
	n := 7 + r.IntN(3)
	b := make([]byte, n)
	for i := range b {
		if r.IntN(3) == 0 {
			b[i] = pick(r, letters)
		} else {
			b[i] = pick(r, digits)
		}
	}
	return pad(string(b), 9)
}

func optional(r *rand.Rand, n int) string {
	if r.IntN(2) == 0 {
		return strings.Repeat("<", n)
	}
	m := 1 + r.IntN(n)
	b := make([]byte, m)
	for i := range b {
		b[i] = pick(r, digits+letters[:6])
	}
	return pad(string(b), n)
}

func name(r *rand.Rand, n int) string {
	s := randWord(r, 2, 12) + "<<" + randWord(r, 2, 9)
	if r.IntN(2) == 0 {
		s += "<" + randWord(r, 2, 8)
	}
	return pad(s, n)
}

func sex(r *rand.Rand) string { return string("MF<"[r.IntN(3)]) }

// RandomDoc returns a valid MRZ of the given format (mrz.TD1, TD2 or TD3) whose every check
// digit passes.
func RandomDoc(r *rand.Rand, format string) Doc {
	state, nat := states[r.IntN(len(states))], states[r.IntN(len(states))]
	num := docNumber(r)
	dob, exp := date(r, 40, 99), date(r, 24, 35)
	switch format {
	case mrz.TD1:
		opt1, opt2 := optional(r, 15), optional(r, 11)
		a := "I" + string("<DR"[r.IntN(3)]) + state + num + cd(num) + opt1
		b := dob + cd(dob) + sex(r) + exp + cd(exp) + nat + opt2
		b += cd(a[5:30] + b[0:7] + b[8:15] + b[18:29])
		return Doc{Type: format, Lines: []string{a, b, name(r, 30)}}
	case mrz.TD2:
		opt := optional(r, 7)
		a := "I" + string("<DR"[r.IntN(3)]) + state + name(r, 31)
		b := num + cd(num) + nat + dob + cd(dob) + sex(r) + exp + cd(exp) + opt
		b += cd(b[0:10] + b[13:20] + b[21:35])
		return Doc{Type: format, Lines: []string{a, b}}
	default:
		opt := optional(r, 14)
		ocd := cd(opt)
		if strings.Trim(opt, "<") == "" && r.IntN(2) == 0 {
			ocd = "<"
		}
		a := "P" + string("<<<D"[r.IntN(4)]) + state + name(r, 39)
		b := num + cd(num) + nat + dob + cd(dob) + sex(r) + exp + cd(exp) + opt + ocd
		b += cd(b[0:10] + b[13:20] + b[21:43])
		return Doc{Type: mrz.TD3, Lines: []string{a, b}}
	}
}
