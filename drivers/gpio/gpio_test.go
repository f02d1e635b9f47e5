package gpio

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/edgeid/edgeid/drivers/gpio/gpiofake"
	pgpio "periph.io/x/conn/v3/gpio"
)

func testOpts() Opts {
	o := DefaultOpts()
	o.RelayPulse = 20 * time.Millisecond
	o.Beep = time.Millisecond
	return o
}

func TestPulseClosesOnceAndReleases(t *testing.T) {
	for _, activeLow := range []bool{false, true} {
		b := gpiofake.NewBoard("GPIO17", "GPIO27", "GPIO22", "GPIO23")
		o := testOpts()
		o.RelayActiveLow = activeLow
		d, err := New(b.Lookup, &o)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := d.Pulse(context.Background()); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el < o.RelayPulse {
			t.Errorf("pulse returned after %v, want at least %v", el, o.RelayPulse)
		}
		relay := b["GPIO17"]
		closed, open := pgpio.High, pgpio.Low
		if activeLow {
			closed, open = pgpio.Low, pgpio.High
		}
		h := relay.History()
		// New drives it open, Pulse closes it once and opens it again.
		if len(h) != 3 || h[0].Level != open || h[1].Level != closed || h[2].Level != open {
			t.Errorf("active low %v: relay history %v", activeLow, h)
		}
	}
}

func TestPulseReleasesOnCancel(t *testing.T) {
	b := gpiofake.NewBoard("GPIO17")
	o := testOpts()
	o.Green, o.Red, o.Buzzer = "", "", ""
	o.RelayPulse = 10 * time.Second
	d, err := New(b.Lookup, &o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := d.Pulse(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Pulse: %v, want deadline exceeded", err)
	}
	if l := b["GPIO17"].Level(); l != pgpio.Low {
		t.Errorf("relay left at %v after cancel", l)
	}
}

func TestPulseFailureStillTriesToRelease(t *testing.T) {
	b := gpiofake.NewBoard("GPIO17")
	o := testOpts()
	o.Green, o.Red, o.Buzzer = "", "", ""
	d, err := New(b.Lookup, &o)
	if err != nil {
		t.Fatal(err)
	}
	b["GPIO17"].SetFail(errors.New("i/o error"))
	if err := d.Pulse(context.Background()); err == nil || !strings.Contains(err.Error(), "closing relay") {
		t.Errorf("Pulse on a failing pin: %v", err)
	}
	if n := b["GPIO17"].Pulses(); n != 0 {
		t.Errorf("relay pulsed %d times through a failing pin", n)
	}
}

func TestIndicate(t *testing.T) {
	b := gpiofake.NewBoard("GPIO17", "GPIO27", "GPIO22", "GPIO23")
	o := testOpts()
	d, err := New(b.Lookup, &o)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		s          Signal
		green, red pgpio.Level
	}{
		{Working, pgpio.High, pgpio.High},
		{Accept, pgpio.High, pgpio.Low},
		{Reject, pgpio.Low, pgpio.High},
		{Fault, pgpio.Low, pgpio.High},
		{Idle, pgpio.Low, pgpio.Low},
	}
	for _, tt := range tests {
		if err := d.Indicate(tt.s); err != nil {
			t.Fatal(err)
		}
		if g, r := b["GPIO27"].Level(), b["GPIO22"].Level(); g != tt.green || r != tt.red {
			t.Errorf("signal %d: green %v red %v, want %v %v", tt.s, g, r, tt.green, tt.red)
		}
	}
	if err := d.Indicate(Signal(42)); err == nil {
		t.Error("unknown signal accepted")
	}
	if b["GPIO17"].Pulses() != 0 {
		t.Error("LED changes touched the relay")
	}
}

func TestBeep(t *testing.T) {
	b := gpiofake.NewBoard("GPIO23")
	o := testOpts()
	o.Relay, o.Green, o.Red = "", "", ""
	d, err := New(b.Lookup, &o)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Beep(context.Background(), 9); err != nil {
		t.Fatal(err)
	}
	if n := b["GPIO23"].Pulses(); n != 5 {
		t.Errorf("buzzer beeped %d times for 9 asked, want the cap of 5", n)
	}
	if b["GPIO23"].Level() != pgpio.Low {
		t.Error("buzzer left on")
	}
}

func TestNewRefuses(t *testing.T) {
	b := gpiofake.NewBoard("GPIO17", "GPIO27")
	tests := []struct {
		name string
		edit func(*Opts)
		want string
	}{
		{"missing pin", func(o *Opts) { o.Green = "GPIO99" }, "no pin named"},
		{"shared pin", func(o *Opts) { o.Green = "GPIO17" }, "given to both"},
		{"long pulse", func(o *Opts) { o.RelayPulse = time.Hour }, "relay pulse"},
		{"no pulse", func(o *Opts) { o.RelayPulse = 0 }, "relay pulse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := testOpts()
			o.Red, o.Buzzer = "", ""
			tt.edit(&o)
			if _, err := New(b.Lookup, &o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want error containing %q", err, tt.want)
			}
		})
	}
	o := testOpts()
	o.Relay, o.Green, o.Red, o.Buzzer = "", "", "", ""
	d, err := New(b.Lookup, &o)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Pulse(context.Background()); err == nil {
		t.Error("Pulse without a relay succeeded")
	}
	if s := d.String(); s != "gpio()" {
		t.Errorf("String() = %q", s)
	}
}
