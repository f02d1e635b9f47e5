// Package nfcsim simulates contactless cards for the "sim" reader of edgeid and for tests:
// FileCard, a minimal ISO 7816-4 card with transparent files (SELECT and READ BINARY, no access
// control).
package nfcsim

import (
	"context"
	"sync"

	"github.com/edgeid/edgeid/drivers/apdu"
)

// FileCard answers SELECT (by AID, by file identifier) and READ BINARY (short and extended Le,
// and short EF identifiers in P1) over a set of transparent files. It has no access control:
// it stands in for a passport whose secure messaging is not under test.
type FileCard struct {
	mu    sync.Mutex
	AID   []byte            // application selected by SELECT P1=04
	Files map[uint16][]byte // file identifier -> content
	cur   uint16
	sel   bool
	app   bool
}

// Transceive implements drivers/emrtd.Transceiver.
func (c *FileCard) Transceive(_ context.Context, raw []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, err := apdu.ParseCommand(raw)
	if err != nil {
		return []byte{0x67, 0x00}, nil
	}
	switch {
	case a.CLA&0x0c != 0:
		return []byte{0x68, 0x82}, nil // secure messaging not supported
	case a.INS == 0xa4 && a.P1 == 0x04:
		if string(a.Data) != string(c.AID) {
			return []byte{0x6a, 0x82}, nil
		}
		c.app, c.sel = true, false
		return []byte{0x90, 0x00}, nil
	case a.INS == 0xa4 && (a.P1 == 0x00 || a.P1 == 0x02):
		if len(a.Data) != 2 {
			return []byte{0x6a, 0x87}, nil
		}
		fid := uint16(a.Data[0])<<8 | uint16(a.Data[1])
		if _, ok := c.Files[fid]; !ok {
			return []byte{0x6a, 0x82}, nil
		}
		c.cur, c.sel = fid, true
		return []byte{0x90, 0x00}, nil
	case a.INS == 0xb0:
		off := int(a.P1)<<8 | int(a.P2)
		if a.P1&0x80 != 0 { // short EF identifier
			fid := 0x0100 | uint16(a.P1&0x1f)
			if _, ok := c.Files[fid]; !ok {
				return []byte{0x6a, 0x82}, nil
			}
			c.cur, c.sel, off = fid, true, int(a.P2)
		}
		if !c.sel {
			return []byte{0x69, 0x86}, nil
		}
		f := c.Files[c.cur]
		if off > len(f) {
			return []byte{0x6b, 0x00}, nil
		}
		n := min(a.Ne, len(f)-off)
		out := append([]byte(nil), f[off:off+n]...)
		if n < a.Ne {
			return append(out, 0x62, 0x82), nil // end of file reached before Ne bytes
		}
		return append(out, 0x90, 0x00), nil
	case a.INS == 0x84:
		if a.Ne == 0 || a.Ne > 256 {
			return []byte{0x67, 0x00}, nil
		}
		return append(make([]byte, a.Ne), 0x90, 0x00), nil
	}
	return []byte{0x6d, 0x00}, nil
}
