// Package gpio drives the kiosk's outputs through periph.io: the door or turnstile relay, the
// status LEDs and the buzzer. The relay is only ever pulsed, never left on: a crash, a cancelled
// context or Halt all leave it released.
package gpio

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"periph.io/x/conn/v3"
	pgpio "periph.io/x/conn/v3/gpio"
)

// Opts names the pins (periph.io gpioreg names such as "GPIO17"); an empty name means the part
// is not fitted.
type Opts struct {
	Relay  string
	Green  string
	Red    string
	Buzzer string
	// RelayActiveLow: many relay boards close on a low level.
	RelayActiveLow bool
	// RelayPulse is how long the relay stays closed on accept.
	RelayPulse time.Duration
	// Beep is the length of one buzzer beep.
	Beep time.Duration
}

// DefaultOpts fit a common Raspberry Pi relay HAT and two LEDs.
func DefaultOpts() Opts {
	return Opts{Relay: "GPIO17", Green: "GPIO27", Red: "GPIO22", Buzzer: "GPIO23", RelayPulse: 3 * time.Second, Beep: 120 * time.Millisecond}
}

// MaxPulse bounds the relay pulse whatever the configuration says: a door must not stay open.
const MaxPulse = 30 * time.Second

// Signal is what the LEDs show.
type Signal int

const (
	Idle    Signal = iota // both off
	Working               // green and red on: a check is running
	Accept                // green
	Reject                // red
	Fault                 // red, and the caller may beep
)

// PinLookup finds an output pin by name; gpioreg.ByName after host.Init() in production.
type PinLookup func(name string) pgpio.PinIO

// Dev is the set of outputs.
type Dev struct {
	opts  Opts
	pulse sync.Mutex // one relay pulse at a time
	mu    sync.Mutex // guards the pins
	relay pgpio.PinOut
	green pgpio.PinOut
	red   pgpio.PinOut
	buzz  pgpio.PinOut
}

var _ conn.Resource = &Dev{}

// New looks the pins up, checks the options and drives every output to its idle level.
func New(lookup PinLookup, o *Opts) (*Dev, error) {
	if o == nil {
		d := DefaultOpts()
		o = &d
	}
	if o.RelayPulse <= 0 || o.RelayPulse > MaxPulse {
		return nil, fmt.Errorf("gpio: relay pulse %v must be in (0, %v]", o.RelayPulse, MaxPulse)
	}
	if o.Beep < 0 || o.Beep > time.Second {
		return nil, fmt.Errorf("gpio: beep %v must be in [0, 1s]", o.Beep)
	}
	d := &Dev{opts: *o}
	seen := map[string]string{}
	for _, p := range []struct {
		role string
		name string
		out  *pgpio.PinOut
	}{{"relay", o.Relay, &d.relay}, {"green LED", o.Green, &d.green}, {"red LED", o.Red, &d.red}, {"buzzer", o.Buzzer, &d.buzz}} {
		if p.name == "" {
			continue
		}
		if other, dup := seen[p.name]; dup {
			return nil, fmt.Errorf("gpio: pin %s is given to both the %s and the %s", p.name, other, p.role)
		}
		seen[p.name] = p.role
		pin := lookup(p.name)
		if pin == nil {
			return nil, fmt.Errorf("gpio: no pin named %q for the %s", p.name, p.role)
		}
		*p.out = pin
	}
	if err := d.Halt(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Dev) relayLevel(closed bool) pgpio.Level {
	return pgpio.Level(closed != d.opts.RelayActiveLow)
}

func set(p pgpio.PinOut, l pgpio.Level) error {
	if p == nil {
		return nil
	}
	return p.Out(l)
}

// Pulse closes the relay for the configured time and releases it, also when ctx ends first.
// It returns after the release.
func (d *Dev) Pulse(ctx context.Context) error {
	if d.relay == nil {
		return errors.New("gpio: no relay fitted")
	}
	d.pulse.Lock()
	defer d.pulse.Unlock()
	d.mu.Lock()
	err := set(d.relay, d.relayLevel(true))
	d.mu.Unlock()
	if err != nil {
		// Try to leave it released whatever happened.
		d.release()
		return fmt.Errorf("gpio: closing relay: %w", err)
	}
	t := time.NewTimer(d.opts.RelayPulse)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	if err := d.release(); err != nil {
		return err
	}
	return ctx.Err()
}

func (d *Dev) release() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := set(d.relay, d.relayLevel(false)); err != nil {
		return fmt.Errorf("gpio: releasing relay: %w", err)
	}
	return nil
}

// Indicate sets the LEDs.
func (d *Dev) Indicate(s Signal) error {
	g, r := pgpio.Low, pgpio.Low
	switch s {
	case Idle:
	case Working:
		g, r = pgpio.High, pgpio.High
	case Accept:
		g = pgpio.High
	case Reject, Fault:
		r = pgpio.High
	default:
		return fmt.Errorf("gpio: unknown signal %d", s)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return errors.Join(set(d.green, g), set(d.red, r))
}

// Beep sounds the buzzer n times (at most 5), returning early when ctx ends.
func (d *Dev) Beep(ctx context.Context, n int) error {
	if d.buzz == nil || d.opts.Beep == 0 {
		return nil
	}
	for i := 0; i < min(n, 5); i++ {
		for _, l := range []pgpio.Level{pgpio.High, pgpio.Low} {
			d.mu.Lock()
			err := set(d.buzz, l)
			d.mu.Unlock()
			if err != nil {
				return fmt.Errorf("gpio: buzzer: %w", err)
			}
			select {
			case <-time.After(d.opts.Beep):
			case <-ctx.Done():
				d.mu.Lock()
				defer d.mu.Unlock()
				return errors.Join(set(d.buzz, pgpio.Low), ctx.Err())
			}
		}
	}
	return nil
}

// Halt releases the relay first, then turns the LEDs and the buzzer off.
func (d *Dev) Halt() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return errors.Join(set(d.relay, d.relayLevel(false)), set(d.green, pgpio.Low), set(d.red, pgpio.Low), set(d.buzz, pgpio.Low))
}

// String names the pins in use.
func (d *Dev) String() string {
	var parts []string
	for _, p := range []struct {
		role string
		name string
	}{{"relay", d.opts.Relay}, {"green", d.opts.Green}, {"red", d.opts.Red}, {"buzzer", d.opts.Buzzer}} {
		if p.name != "" {
			parts = append(parts, p.role+"="+p.name)
		}
	}
	return "gpio(" + strings.Join(parts, ", ") + ")"
}
