package pn532

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"
)

// SmokeReport is what Smoke found.
type SmokeReport struct {
	Firmware Firmware
	Card     string // empty when no card answered
	SelectSW string // status word of SELECT eMRTD application, when a card answered
	Elapsed  time.Duration
}

// Smoke runs a short fixed session on an initialised device: GetFirmwareVersion, one poll for
// Type A and one for Type B, and when a card answers, SELECT of the eMRTD application
// (A0 00 00 02 47 10 01), InRelease and RF off. Run on real hardware through a recording bus
// (periph's i2ctest.Record), it produces the transcripts that tests replay.
func Smoke(ctx context.Context, d *Dev) (SmokeReport, error) {
	start := time.Now()
	var rep SmokeReport
	fw, err := d.FirmwareVersion(ctx)
	if err != nil {
		return rep, fmt.Errorf("smoke: %w", err)
	}
	rep.Firmware = fw
	for _, m := range []Modulation{TypeA106, TypeB106} {
		ts, err := d.ListPassiveTarget(ctx, m)
		if err != nil {
			return rep, fmt.Errorf("smoke: poll %#02x: %w", byte(m), err)
		}
		if len(ts) == 0 {
			continue
		}
		rep.Card = ts[0].Info.String()
		r, err := d.DataExchange(ctx, ts[0].Tg, []byte{0x00, 0xa4, 0x04, 0x0c, 0x07, 0xa0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01})
		if err != nil {
			return rep, fmt.Errorf("smoke: SELECT eMRTD: %w", err)
		}
		if len(r) >= 2 {
			rep.SelectSW = hex.EncodeToString(r[len(r)-2:])
		}
		if err := d.InRelease(ctx, ts[0].Tg); err != nil {
			return rep, fmt.Errorf("smoke: release: %w", err)
		}
		break
	}
	if err := d.RFConfiguration(ctx, 0x01, []byte{0x00}); err != nil {
		return rep, fmt.Errorf("smoke: RF off: %w", err)
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}
