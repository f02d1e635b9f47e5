// Package gpiofake is a test double for output pins that records every level written, so that
// tests can assert "the relay was pulsed exactly once" and not only the final level.
package gpiofake

import (
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// Change is one level written at a time.
type Change struct {
	Level gpio.Level
	At    time.Time
}

// Pin is a gpiotest.Pin that keeps the history of its output levels.
type Pin struct {
	gpiotest.Pin
	hmu     sync.Mutex
	history []Change
	fail    error
}

// SetFail makes Out return err (nil restores normal behaviour), as a pin whose driver failed.
func (p *Pin) SetFail(err error) {
	p.hmu.Lock()
	defer p.hmu.Unlock()
	p.fail = err
}

// New returns a pin with the given name.
func New(name string) *Pin { return &Pin{Pin: gpiotest.Pin{N: name}} }

// Out records the level and sets it.
func (p *Pin) Out(l gpio.Level) error {
	p.hmu.Lock()
	if p.fail != nil {
		p.hmu.Unlock()
		return p.fail
	}
	p.history = append(p.history, Change{Level: l, At: time.Now()})
	p.hmu.Unlock()
	return p.Pin.Out(l)
}

// History returns the levels written so far.
func (p *Pin) History() []Change {
	p.hmu.Lock()
	defer p.hmu.Unlock()
	return append([]Change(nil), p.history...)
}

// Pulses counts transitions from low to high.
func (p *Pin) Pulses() int {
	n := 0
	last := gpio.Low
	for _, c := range p.History() {
		if c.Level == gpio.High && last == gpio.Low {
			n++
		}
		last = c.Level
	}
	return n
}

// Level is the current output level.
func (p *Pin) Level() gpio.Level {
	p.Lock()
	defer p.Unlock()
	return p.L
}

// Board is a set of named fake pins with a lookup for gpio.New.
type Board map[string]*Pin

// NewBoard makes fake pins with the given names.
func NewBoard(names ...string) Board {
	b := Board{}
	for _, n := range names {
		b[n] = New(n)
	}
	return b
}

// Lookup finds a pin by name, or nil.
func (b Board) Lookup(name string) gpio.PinIO {
	if p, ok := b[name]; ok {
		return p
	}
	return nil
}
