package main

import (
	"context"
	"fmt"
	"strings"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/spi"

	"github.com/edgeid/edgeid/daemon/cmd/internal/cli"
	"github.com/edgeid/edgeid/drivers/nfc"
	"github.com/edgeid/edgeid/drivers/nfc/pn532"
	"github.com/edgeid/edgeid/drivers/nfc/pn532/transcript"
	"github.com/edgeid/edgeid/drivers/nfc/readers"
)

// defaultReader is probed by doctor when no -reader is given (a PN532 HAT on a Raspberry Pi).
const defaultReader = "pn532:i2c:/dev/i2c-1"

// selectors collects repeated -reader flags.
type selectors []nfc.Selector

func (s *selectors) String() string {
	var out []string
	for _, x := range *s {
		out = append(out, x.String())
	}
	return strings.Join(out, ",")
}

func (s *selectors) Set(v string) error {
	sel, err := nfc.ParseSelector(v)
	if err != nil {
		return err
	}
	*s = append(*s, sel)
	return nil
}

// runDoctor probes the configured PN532 and lists PC/SC readers, saying what is wrong with each
// one that does not answer. Exit 1 when no reader works.
func runDoctor(ctx context.Context, e env, args []string) error {
	fs := newFlags(e, "doctor", "")
	var sels selectors
	fs.Var(&sels, "reader", "reader to probe (repeatable): pn532:i2c:/dev/i2c-1, pn532:spi:/dev/spidev0.0, pn532:uart:/dev/ttyAMA0, pcsc:0, sim (default "+defaultReader+" and every PC/SC reader)")
	rest, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return cli.Usagef("doctor takes no arguments, got %q", rest)
	}
	if len(sels) == 0 {
		def, _ := nfc.ParseSelector(defaultReader)
		sels = selectors{def, {Driver: "pcsc"}}
	}
	ok := 0
	fmt.Fprintln(e.Stdout, "NFC readers:")
	for _, sel := range sels {
		for _, st := range readers.Probe(ctx, sel, readers.Opts{}) {
			mark := "FAIL"
			if st.OK {
				mark, ok = "ok  ", ok+1
			}
			fmt.Fprintf(e.Stdout, "  %s  %-28s %s\n", mark, st.Reader, st.Detail)
		}
	}
	if ok == 0 {
		return &cli.ExitStatus{Code: 1, Msg: "edgeid doctor: no working NFC reader"}
	}
	return nil
}

// runNFCSmoke runs a short fixed session on a PN532 (firmware, one poll for Type A and B,
// SELECT of the eMRTD application) and can record the I2C traffic as a transcript that
// drivers/nfc/pn532 tests replay.
func runNFCSmoke(ctx context.Context, e env, args []string) error {
	fs := newFlags(e, "nfc smoke", "")
	reader := fs.String("reader", defaultReader, "PN532 to test: pn532:<i2c|spi|uart>:<device> or sim")
	record := fs.String("record", "", "write the I2C or SPI transcript to this JSON file (for drivers/nfc/pn532/testdata)")
	rest, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return cli.Usagef("nfc smoke takes no arguments, got %q", rest)
	}
	sel, err := nfc.ParseSelector(*reader)
	if err != nil {
		return cli.Usagef("%v", err)
	}
	if sel.Driver != "pn532" && sel.Driver != "sim" {
		return cli.Usagef("nfc smoke drives a PN532 (or sim), not %s", sel.Driver)
	}
	if *record != "" && sel.Driver == "pn532" && sel.Bus == "uart" {
		return cli.Usagef("-record captures I2C and SPI, not uart")
	}
	rec := &transcript.I2CRecorder{}
	srec := &transcript.SPIRecorder{}
	o := readers.Opts{}
	if *record != "" {
		o.WrapI2C = func(b i2c.Bus) i2c.Bus { rec.Bus = b; return rec }
		o.WrapSPI = func(p spi.PortCloser) spi.PortCloser { srec.Port = p; return srec }
	}
	var d *pn532.Dev
	if sel.Driver == "sim" {
		r, _, err := readers.OpenSim(ctx, o)
		if err != nil {
			return err
		}
		d = r.Dev()
	} else if d, err = readers.OpenPN532(ctx, sel, o); err != nil {
		return err
	}
	rep, err := pn532.Smoke(ctx, d)
	if herr := d.Halt(); err == nil && herr != nil {
		err = herr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "reader   %s\nfirmware %s\n", d, rep.Firmware)
	if rep.Card != "" {
		fmt.Fprintf(e.Stdout, "card     %s\nselect   eMRTD application: SW %s\n", rep.Card, rep.SelectSW)
	} else {
		fmt.Fprintln(e.Stdout, "card     none in the field")
	}
	fmt.Fprintf(e.Stdout, "elapsed  %s\n", rep.Elapsed.Round(1e5))
	if *record != "" {
		comment := fmt.Sprintf("edgeid nfc smoke -reader %s (%s)", sel, rep.Firmware)
		t := rec.Transcript(comment)
		if sel.Bus == "spi" {
			t = srec.Transcript(comment)
		}
		if err := t.Save(*record); err != nil {
			return fmt.Errorf("save transcript: %w", err)
		}
		fmt.Fprintf(e.Stdout, "recorded %d %s transactions to %s\n", len(t.Ops), t.Bus, *record)
	}
	return nil
}
