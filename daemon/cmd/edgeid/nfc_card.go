package main

import (
	"context"
	"fmt"
	"time"

	"github.com/edgeid/edgeid/daemon/cmd/internal/cli"
	"github.com/edgeid/edgeid/drivers/emrtd"
	"github.com/edgeid/edgeid/drivers/nfc"
	"github.com/edgeid/edgeid/drivers/nfc/pn532/pn532sim"
	"github.com/edgeid/edgeid/drivers/nfc/readers"
)

// cardWait bounds how long a command waits for a card on a real reader.
const cardWait = 60 * time.Second

// simOverPN532 puts the virtual chip into the field of an emulated PN532 on a fake I2C bus and
// returns the activated card: every APDU then crosses the PN532 frame protocol (I2C ready byte,
// ACK, InDataExchange chaining) as it would on a kiosk. done releases the card and the reader.
func simOverPN532(ctx context.Context, e env, chip emrtd.Transceiver) (card emrtd.Transceiver, done func(), err error) {
	r, _, err := readers.OpenSim(ctx, readers.Opts{SimCard: pn532sim.PassportA(chip)})
	if err != nil {
		return nil, nil, err
	}
	c, err := r.WaitCard(ctx)
	if err != nil {
		_ = r.Halt()
		return nil, nil, fmt.Errorf("sim: %w", err)
	}
	fmt.Fprintf(e.Stderr, "reader: %s, card %s\n", r, c.Info())
	return c, func() { _ = c.Close(ctx); _ = r.Halt() }, nil
}

// readerCard opens the reader named by a selection string (pn532:..., pcsc:...) and waits for
// a card. done releases the card and the reader.
func readerCard(ctx context.Context, e env, s string) (card emrtd.Transceiver, done func(), err error) {
	sel, err := nfc.ParseSelector(s)
	if err != nil {
		return nil, nil, cli.Usagef("--reader: %v", err)
	}
	r, err := readers.Open(ctx, sel, readers.Opts{})
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(e.Stderr, "waiting up to %s for a card on %s ...\n", cardWait, r)
	wctx, cancel := context.WithTimeout(ctx, cardWait)
	defer cancel()
	c, err := r.WaitCard(wctx)
	if err != nil {
		_ = r.Halt()
		if h := r.Health(); h != nil {
			return nil, nil, fmt.Errorf("no card: %w (reader: %v)", err, h)
		}
		return nil, nil, fmt.Errorf("no card on %s: %w", r, err)
	}
	fmt.Fprintf(e.Stderr, "card: %s\n", c.Info())
	return c, func() { _ = c.Close(ctx); _ = r.Halt() }, nil
}
