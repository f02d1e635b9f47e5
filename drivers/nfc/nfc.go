// Package nfc is the contactless reader interface the kiosk consumes: wait for a card, learn what
// it is (ISO 14443 Type A or B, UID, ATQA/SAK/ATS or ATQB/ATTRIB, ATR for PC/SC readers), exchange
// ISO 7816-4 APDUs with it over ISO 14443-4, and notice when it leaves the field.
//
// Drivers live in sub-packages (pn532, pcsc); a reader is chosen with a selection string parsed
// by ParseSelector ("pn532:i2c:/dev/i2c-1", "pcsc:0", "sim"). This package imports no driver.
package nfc

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Reader is one contactless reader.
type Reader interface {
	// WaitCard blocks until an ISO 14443-4 card is in the field and activated, or ctx ends.
	// Only one card is handled at a time: the previous Card must be closed first (else
	// ErrBusy). A card left in the field after Close is found again: wait for
	// Card.WaitRemoved before the next WaitCard to handle each presentation once.
	WaitCard(ctx context.Context) (Card, error)
	// Health reports nil when the reader answers, else why it does not.
	Health() error
	// String names the reader, e.g. "pn532(i2c /dev/i2c-1 0x24)".
	String() string
	// Halt releases the reader (powers a PN532 down, releases the PC/SC context).
	Halt() error
}

// Card is an activated ISO 14443-4 card. It satisfies drivers/emrtd.Transceiver.
type Card interface {
	// Transceive sends one command APDU and returns the response APDU including SW1 SW2.
	Transceive(ctx context.Context, command []byte) (response []byte, err error)
	// Info describes the card as seen at activation.
	Info() CardInfo
	// WaitRemoved blocks until the card has left the field (nil) or ctx ends (ctx.Err()).
	WaitRemoved(ctx context.Context) error
	// Close deselects the card and frees the reader for the next WaitCard.
	Close(ctx context.Context) error
}

// Protocol is the ISO 14443 type of a card.
type Protocol int

// The protocols.
const (
	Unknown Protocol = iota
	TypeA
	TypeB
)

func (p Protocol) String() string {
	switch p {
	case TypeA:
		return "ISO 14443-A"
	case TypeB:
		return "ISO 14443-B"
	}
	return "unknown"
}

// CardInfo is what a reader learns about a card while activating it. Fields the reader does not
// report are empty. The UID of a passport is random per session and is not personal data, but the
// kiosk still does not persist it.
type CardInfo struct {
	Protocol Protocol
	UID      []byte  // NFCID1 (Type A) or PUPI (Type B)
	ATQA     [2]byte // Type A SENS_RES in the order the reader reports it
	SAK      byte    // Type A SEL_RES
	ATS      []byte  // Type A answer to select, TL included
	ATQB     []byte  // Type B SENSB_RES (12 or 13 bytes, starting 0x50)
	ATTRIB   []byte  // Type B answer to ATTRIB
	ATR      []byte  // PC/SC ATR (synthesised by the reader for contactless cards)
	// BitRate is the RF bit rate in kbit/s in each direction after activation (106, 212, 424, 848).
	BitRateTx, BitRateRx int
	// ExtendedLength is true when the card announces extended Lc/Le in its historical bytes
	// (ISO 7816-4 card capabilities) and the reader path can carry them.
	ExtendedLength bool
}

func (c CardInfo) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s uid=%s", c.Protocol, hex.EncodeToString(c.UID))
	switch c.Protocol {
	case TypeA:
		fmt.Fprintf(&b, " atqa=%02x%02x sak=%02x ats=%s", c.ATQA[0], c.ATQA[1], c.SAK, hex.EncodeToString(c.ATS))
	case TypeB:
		fmt.Fprintf(&b, " atqb=%s attrib=%s", hex.EncodeToString(c.ATQB), hex.EncodeToString(c.ATTRIB))
	}
	if len(c.ATR) > 0 {
		fmt.Fprintf(&b, " atr=%s", hex.EncodeToString(c.ATR))
	}
	if c.BitRateTx > 0 {
		fmt.Fprintf(&b, " rate=%d/%dkbps", c.BitRateTx, c.BitRateRx)
	}
	if c.ExtendedLength {
		b.WriteString(" extended-length")
	}
	return b.String()
}

// Errors a caller may match with errors.Is.
var (
	// ErrCardRemoved: the card left the field during an exchange.
	ErrCardRemoved = errors.New("card removed")
	// ErrReaderGone: the reader stopped answering (unplugged, bus error); it may come back.
	ErrReaderGone = errors.New("reader not responding")
	// ErrBusy: WaitCard was called while a card is still open.
	ErrBusy = errors.New("reader busy with another card")
)

// Sleep waits for d or until ctx ends, whichever comes first; readers use it between polls and
// retries so that a cancelled check stops at once.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
