package emrtd

import (
	"context"
	"errors"
	"fmt"

	"github.com/edgeid/edgeid/drivers/apdu"
	"github.com/edgeid/edgeid/drivers/emrtd/internal/sm"
)

// Errors of the access and transport layer; callers match them with errors.Is.
var (
	// ErrAccessDenied means the chip refused the access key: wrong MRZ data or CAN.
	ErrAccessDenied = errors.New("access denied by the chip (wrong MRZ or CAN?)")
	// ErrMAC means a secure-messaging MAC did not verify: the response was forged,
	// corrupted or replayed. The data is never used.
	ErrMAC = sm.ErrMAC
	// ErrProtocol means the chip answered outside the protocol (bad format, wrong length,
	// out-of-sequence status word).
	ErrProtocol = errors.New("chip protocol error")
	// ErrChipAuth means Chip Authentication failed: the chip did not prove it holds the
	// private key of its DG14 public key.
	ErrChipAuth = errors.New("chip authentication failed")
)

// StatusError is a status word other than 9000 for an operation.
type StatusError struct {
	Op string // "SELECT DG2", "READ BINARY DG2 at 512", "GET CHALLENGE"
	SW uint16

	sessionEnded bool // the status came unprotected and ended secure messaging
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: status %04X (%s)", e.Op, e.SW, swText(e.SW))
}

func swText(sw uint16) string {
	switch {
	case sw == 0x6282:
		return "end of file reached before Le bytes"
	case sw == 0x6700:
		return "wrong length"
	case sw>>8 == 0x6C:
		return fmt.Sprintf("wrong Le, exact length %d", sw&0xFF)
	case sw == 0x6982:
		return "security status not satisfied"
	case sw == 0x6983:
		return "authentication method blocked"
	case sw == 0x6985:
		return "conditions of use not satisfied"
	case sw == 0x6987:
		return "expected secure messaging objects missing"
	case sw == 0x6988:
		return "secure messaging objects incorrect"
	case sw == 0x6A80:
		return "incorrect data field"
	case sw == 0x6A82:
		return "file not found"
	case sw == 0x6A86:
		return "incorrect P1/P2"
	case sw == 0x6B00:
		return "offset outside the file"
	case sw == 0x6D00:
		return "instruction not supported"
	case sw == 0x6E00:
		return "class not supported"
	case sw>>8 == 0x63:
		return "verification failed"
	}
	return "unexpected status"
}

// LinkStats counts what crossed the contactless link, secure-messaging overhead included.
type LinkStats struct {
	APDUs         int   // command/response pairs
	BytesSent     int64 // command bytes
	BytesReceived int64 // response bytes, status words included
	// Blocks counts the ISO 14443-4 blocks the APDUs need with a 256-byte frame size:
	// I-blocks of at most 253 payload bytes, plus one R(ACK) per chained I-block.
	Blocks int
}

// AirTime is the floor of the transfer time at a bit rate (bit/s): APDU bytes x 9 bits
// (8 data bits and a parity bit per byte), nothing else.
func (s LinkStats) AirTime(bitRate float64) float64 {
	return float64(s.BytesSent+s.BytesReceived) * 9 / bitRate
}

// FramedTime models the transfer time with ISO 14443-4 framing added to AirTime: 3 bytes
// (PCB and CRC) per block, chained blocks and their acknowledgements. It leaves out frame
// delay times and the chip's processing, which dominate on real cards.
func (s LinkStats) FramedTime(bitRate float64) float64 {
	return float64(s.BytesSent+s.BytesReceived+3*int64(s.Blocks)) * 9 / bitRate
}

// isoBlocks is the number of blocks one APDU of n bytes takes with a 256-byte frame size.
func isoBlocks(n int) int {
	const payload = 253
	i := max(1, (n+payload-1)/payload)
	return i + (i - 1) // chained I-blocks, each but the last acknowledged by an R-block
}

// maxResponse bounds a response APDU: 65536 data bytes plus secure messaging overhead.
const maxResponse = 65536 + 64

// channel sends commands, through secure messaging once a session is established.
type channel struct {
	t     Transceiver
	sm    *sm.Session
	stats LinkStats
}

func (c *channel) transmit(ctx context.Context, cmd apdu.Command) (apdu.Response, error) {
	if err := ctx.Err(); err != nil {
		return apdu.Response{}, err
	}
	var raw []byte
	var err error
	if c.sm != nil {
		raw, err = c.sm.ProtectCommand(cmd)
	} else {
		raw, err = cmd.Bytes()
	}
	if err != nil {
		return apdu.Response{}, err
	}
	resp, err := c.t.Transceive(ctx, raw)
	c.stats.APDUs++
	c.stats.BytesSent += int64(len(raw))
	c.stats.BytesReceived += int64(len(resp))
	c.stats.Blocks += isoBlocks(len(raw)) + isoBlocks(len(resp))
	if err != nil {
		return apdu.Response{}, fmt.Errorf("transceive: %w", err)
	}
	if len(resp) > maxResponse {
		return apdu.Response{}, fmt.Errorf("%w: response of %d bytes exceeds %d", ErrProtocol, len(resp), maxResponse)
	}
	if c.sm == nil {
		r, err := apdu.ParseResponse(resp)
		if err != nil {
			return apdu.Response{}, fmt.Errorf("%w: %v", ErrProtocol, err)
		}
		return r, nil
	}
	r, err := c.sm.UnprotectResponse(resp, cmd.INS&1 == 1)
	if err != nil {
		var so *sm.StatusOnlyError
		if errors.As(err, &so) {
			// The chip dropped secure messaging; nothing more can be read in this session.
			c.sm = nil
			return apdu.Response{}, &StatusError{Op: "secure messaging ended by the chip", SW: so.SW, sessionEnded: true}
		}
		if errors.Is(err, sm.ErrMAC) {
			return apdu.Response{}, err
		}
		return apdu.Response{}, fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	return r, nil
}

// expectOK sends cmd and turns any status other than 9000 into a *StatusError.
func (c *channel) expectOK(ctx context.Context, op string, cmd apdu.Command) ([]byte, error) {
	r, err := c.transmit(ctx, cmd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if r.SW != 0x9000 {
		return nil, &StatusError{Op: op, SW: r.SW}
	}
	return r.Data, nil
}
