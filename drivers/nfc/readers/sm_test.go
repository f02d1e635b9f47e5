package readers

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/edgeid/edgeid/drivers/emrtd"
	"github.com/edgeid/edgeid/drivers/emrtd/emrtdsim"
	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
	"github.com/edgeid/edgeid/drivers/nfc/pn532"
	"github.com/edgeid/edgeid/drivers/nfc/pn532/pn532sim"
)

// TestLinkModelSM reads DG2 (20 000 bytes) from the virtual passport of emrtdsim with PACE and
// secure messaging, through the emulated PN532 on each bus, and logs host-link bytes per APDU
// and the modelled link time next to the APDU bytes emrtd counts. Run with -v for the table.
func TestLinkModelSM(t *testing.T) {
	text := "P<UTOSPECIMEN<<SIM<READER<<<<<<<<<<<<<<<<<<<X000000012UTO9001011F3501014<<<<<<<<<<<<<<<2"
	dg2 := make([]byte, 20000)
	for i := range dg2 {
		dg2[i] = byte(i * 7)
	}
	files := lds.Files{
		"EF.COM": tlv.EncodeTLV(0x60, append(tlv.EncodeTLV(0x5F01, []byte("0107")), tlv.EncodeTLV(0x5C, []byte{0x61, 0x75})...)),
		"DG1":    tlv.EncodeTLV(0x61, tlv.EncodeTLV(0x5F1F, []byte(text))),
		"DG2":    tlv.EncodeTLV(0x75, dg2),
	}
	key, err := mrz.NewKeyFromMRZ(text)
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []struct {
		ext   bool
		maxLe int
	}{{false, 256}, {false, 224}, {true, 65536}} {
		ext := cfg.ext
		for _, bus := range []string{"i2c", "spi", "uart"} {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			co := emrtdsim.Opts{Files: files, MRZInformation: key.MRZInformation(), BAC: true,
				PACE: []emrtdsim.PACEOffer{{Cipher: "AES-128", ParamID: 13}}, ExtendedLength: ext}
			if ext {
				co.MaxLe = 65536
			}
			vchip, err := emrtdsim.New(&co)
			if err != nil {
				t.Fatal(err)
			}
			chip := pn532sim.New()
			chip.Insert(pn532sim.PassportA(vchip))
			var d *pn532.Dev
			switch bus {
			case "i2c":
				d, err = pn532.NewI2C(ctx, chip.I2C(), nil)
			case "spi":
				d, err = pn532.NewSPI(ctx, chip.SPI(), nil)
			case "uart":
				d, err = pn532.NewUART(ctx, chip.UART(), "emulated", nil, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			r, _ := pn532.NewReader(d, nil)
			c, err := r.WaitCard(ctx)
			if err != nil {
				t.Fatal(err)
			}
			before := snapshot(d.Counters())
			ro := emrtd.DefaultReadOpts()
			ro.Files = []string{"DG2"}
			ro.ActiveAuthentication = false
			ro.ExtendedLength = ext
			ro.MaxLe = cfg.maxLe
			got, info, err := emrtd.Read(ctx, c, key, &ro)
			cancel()
			if err != nil {
				t.Fatalf("%s ext=%v: %v", bus, ext, err)
			}
			if !bytes.Equal(got["DG2"], files["DG2"]) {
				t.Fatalf("%s ext=%v: DG2 differs", bus, ext)
			}
			delta := diff(d.Counters(), before)
			link := delta.TxBytes.Load() + delta.RxBytes.Load()
			if bus == "spi" {
				link = delta.TxBytes.Load()
			}
			apdu := info.Link.BytesSent + info.Link.BytesReceived
			for _, f := range freqs(bus) {
				t.Logf("PACE+DG2 %-4s %-10s Le<=%-5d %3d APDUs, %6d APDU bytes, %6d link bytes (%4d/APDU), link %5.0f ms, air floor 106k %5.0f ms, 424k %4.0f ms",
					bus, f, cfg.maxLe, info.Link.APDUs, apdu, link, link/int64(info.Link.APDUs),
					float64(pn532.LinkTime(bus, f, delta))/float64(time.Millisecond),
					info.Link.AirTime(106e3)*1000, info.Link.AirTime(424e3)*1000)
			}
			if link < apdu {
				t.Errorf("%s: %d link bytes for %d APDU bytes: the counters miss traffic", bus, link, apdu)
			}
		}
	}
}
