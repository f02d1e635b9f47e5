package emrtd

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/edgeid/edgeid/drivers/apdu"
	"github.com/edgeid/edgeid/drivers/emrtd/internal/sm"
	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
)

// Access selects the access-control protocol of Read.
type Access string

// Access choices.
const (
	AccessAuto Access = "auto" // PACE when EF.CardAccess offers a supported PACEInfo, else BAC
	AccessPACE Access = "pace" // PACE only
	AccessBAC  Access = "bac"  // BAC only
)

// ReadOpts configures Read.
type ReadOpts struct {
	// Files lists the files to read. Empty: EF.COM, the data groups it lists (except the
	// EAC-protected DG3 and DG4), DG14 and DG15 if present, and EF.SOD.
	Files []string
	// Access chooses PACE or BAC; the zero value means AccessAuto.
	Access Access
	// ExtendedLength asks for up to MaxLe bytes per READ BINARY with extended APDUs.
	ExtendedLength bool
	// MaxLe is the largest Le asked for: 1..256 for short APDUs (default 256), up to 65536
	// with ExtendedLength (default 65536). A chip that refuses a size (6700 or 6Cxx) gets a
	// smaller one: 256 -> 224 -> 160 -> 128 -> 64.
	MaxLe int
	// ChipAuthentication runs Chip Authentication (ECDH) as soon as DG14 is read, so the
	// other files travel under the new keys; DG14 is then read first.
	ChipAuthentication bool
	// ActiveAuthentication sends INTERNAL AUTHENTICATE with a random challenge when DG15
	// was read; the chip's answer is in ReadInfo.AA for verification against DG15.
	ActiveAuthentication bool
	// Rand is the randomness source; nil means crypto/rand.
	Rand io.Reader
}

// DefaultReadOpts returns the options Read uses for a nil *ReadOpts.
func DefaultReadOpts() ReadOpts {
	return ReadOpts{Access: AccessAuto, MaxLe: 256, ChipAuthentication: true, ActiveAuthentication: true}
}

func (o *ReadOpts) validate() error {
	switch o.Access {
	case "":
		o.Access = AccessAuto
	case AccessAuto, AccessPACE, AccessBAC:
	default:
		return fmt.Errorf("read: unknown access %q (want auto, pace or bac)", o.Access)
	}
	max := apdu.MaxShortNe
	if o.ExtendedLength {
		max = apdu.MaxExtNe
	}
	if o.MaxLe == 0 {
		o.MaxLe = max
	}
	if o.MaxLe < 16 || o.MaxLe > max {
		return fmt.Errorf("read: MaxLe %d out of range 16..%d", o.MaxLe, max)
	}
	for _, f := range o.Files {
		if _, err := fileID(f); err != nil {
			return err
		}
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	return nil
}

// ReadInfo describes how a document was read.
type ReadInfo struct {
	Access       string   // "PACE" or "BAC"
	PACEProtocol string   // e.g. "id-PACE-ECDH-GM-AES-CBC-CMAC-128"; "" for BAC
	PACECurve    string   // PACE domain parameters, e.g. "brainpoolP256r1"
	PACEFallback string   // why BAC was used although PACE was tried or looked for
	Cipher       string   // secure-messaging cipher of PACE or BAC: "3DES", "AES-128", ...
	Read         []string // files read, in order
	Missing      []string // files the chip does not have (6A82)
	Denied       []string // files the chip refused (6982: EAC-protected)
	LeFallbacks  int      // times a READ BINARY was retried with a smaller Le
	// Reestablished counts the times access control was run again because the chip ended
	// secure messaging on a length it refused.
	Reestablished int
	Link          LinkStats
	CA            string      // Chip Authentication protocol run, "" if none
	CAConfirmed   bool        // a response verified under the Chip Authentication keys
	CAError       string      // why Chip Authentication was not run, if asked for
	CAM           string      // "pass" once PACE-CAM's chip authentication data verified; "" otherwise
	AA            *AAExchange // Active Authentication exchange, nil if not run
	AAError       string      // why Active Authentication could not run, if asked for
	Duration      time.Duration

	cam *camData // PACE-CAM data awaiting the chip's static key
}

// AAExchange is the chip side of Active Authentication: the challenge sent and the
// signature returned. Verifying it against DG15 is Active Authentication proper.
type AAExchange struct {
	Challenge []byte
	Signature []byte
}

// fileID maps a dump name to its file identifier and short EF identifier.
func fileID(name string) (uint16, error) {
	switch name {
	case "EF.COM":
		return 0x011E, nil
	case "EF.SOD":
		return 0x011D, nil
	case "EF.CardAccess":
		return 0x011C, nil
	case "EF.CardSecurity":
		return 0, fmt.Errorf("read: EF.CardSecurity is not supported (it lives in the master file and needs PACE there)")
	}
	if n, ok := strings.CutPrefix(name, "DG"); ok {
		if i, err := strconv.Atoi(n); err == nil && i >= 1 && i <= 16 && n == strconv.Itoa(i) {
			return 0x0100 + uint16(i), nil
		}
	}
	return 0, fmt.Errorf("read: unknown file %q (want EF.COM, EF.SOD, EF.CardAccess, DG1..DG16)", name)
}

// comTags maps the EF.COM tag list entries to data group names.
func comTagName(tag byte) string {
	switch tag {
	case 0x61:
		return "DG1"
	case 0x75:
		return "DG2"
	case 0x63:
		return "DG3"
	case 0x76:
		return "DG4"
	}
	if tag >= 0x65 && tag <= 0x70 {
		return "DG" + strconv.Itoa(int(tag-0x65)+5)
	}
	return ""
}

// comDataGroups lists the data groups in EF.COM's tag list (tag 5C).
func comDataGroups(com []byte) ([]string, error) {
	t, err := tlv.ParseTLVExpect(com, 0x60)
	if err != nil {
		return nil, fmt.Errorf("EF.COM: %w", err)
	}
	list, ok := t.Find(0x5C)
	if !ok {
		return nil, fmt.Errorf("%w: EF.COM has no tag list (5C)", ErrProtocol)
	}
	var out []string
	for _, b := range list.Value {
		if n := comTagName(b); n != "" {
			out = append(out, n)
		}
	}
	return out, nil
}

var errNotFound = errors.New("file not found")

// leRefused is a READ BINARY whose length the chip refused with an unprotected status,
// which ends secure messaging: Read re-establishes access and asks for less.
type leRefused struct {
	le       int
	extended bool
	sw       uint16
	err      error
}

func (e *leRefused) Error() string {
	return fmt.Sprintf("READ BINARY with Le %d refused (status %04X) and secure messaging ended", e.le, e.sw)
}

func (e *leRefused) Unwrap() error { return e.err }

// maxReestablish bounds how often Read re-runs access control after a refused length.
const maxReestablish = 4

// selectFile selects an EF by file identifier (P2 0C: no response data).
func selectFile(ctx context.Context, c *channel, name string, fid uint16) error {
	r, err := c.transmit(ctx, apdu.Command{INS: 0xA4, P1: 0x02, P2: 0x0C, Data: []byte{byte(fid >> 8), byte(fid)}})
	if err != nil {
		return fmt.Errorf("SELECT %s: %w", name, err)
	}
	switch r.SW {
	case 0x9000:
		return nil
	case 0x6A82:
		return fmt.Errorf("SELECT %s: %w", name, errNotFound)
	}
	return &StatusError{Op: "SELECT " + name, SW: r.SW}
}

// leLadder is the sequence of Le values tried when a chip refuses a length.
func nextLe(le int) int {
	for _, v := range []int{256, 224, 160, 128, 64} {
		if v < le {
			return v
		}
	}
	return 0
}

// tlvTotalLen returns the total length of the TLV object starting at b, or -1 if b is too
// short to tell.
func tlvTotalLen(b []byte, name string) (int, error) {
	if len(b) < 2 {
		return -1, nil
	}
	i := 1
	if b[0]&0x1F == 0x1F {
		for ; i < len(b) && b[i]&0x80 != 0; i++ {
			if i > 3 {
				return 0, fmt.Errorf("%w: %s: tag longer than 4 bytes", ErrProtocol, name)
			}
		}
		i++
	}
	if i >= len(b) {
		return -1, nil
	}
	l := int(b[i])
	i++
	switch {
	case l < 0x80:
	case l == 0x80:
		return 0, fmt.Errorf("%w: %s: indefinite length at the top level", ErrProtocol, name)
	case l <= 0x84:
		n := l & 0x7F
		if i+n > len(b) {
			return -1, nil
		}
		l = 0
		for _, x := range b[i : i+n] {
			l = l<<8 | int(x)
		}
		i += n
	default:
		return 0, fmt.Errorf("%w: %s: bad length byte %02X", ErrProtocol, name, b[i-1])
	}
	if l > lds.MaxFileSize-i {
		return 0, fmt.Errorf("%w: %s: declares %d bytes, more than the %d-byte limit", ErrProtocol, name, l, lds.MaxFileSize)
	}
	return i + l, nil
}

// readBinary reads up to ne bytes at offset from the selected file.
func readBinary(ctx context.Context, c *channel, offset, ne int) (apdu.Response, error) {
	if offset <= 0x7FFF {
		return c.transmit(ctx, apdu.Command{INS: 0xB0, P1: byte(offset >> 8), P2: byte(offset), Ne: ne})
	}
	// Odd INS: the offset travels in DO'54', the data come back in DO'53'.
	off := []byte{byte(offset >> 16), byte(offset >> 8), byte(offset)}
	for len(off) > 1 && off[0] == 0 {
		off = off[1:]
	}
	r, err := c.transmit(ctx, apdu.Command{INS: 0xB1, Data: append([]byte{0x54, byte(len(off))}, off...), Ne: ne})
	if err != nil || (r.SW != 0x9000 && r.SW != 0x6282) || len(r.Data) == 0 {
		return r, err
	}
	t, err := tlv.ParseTLVExpect(r.Data, 0x53)
	if err != nil {
		return apdu.Response{}, fmt.Errorf("%w: READ BINARY (B1) at %d: %v", ErrProtocol, offset, err)
	}
	r.Data = t.Value
	return r, nil
}

// readFile selects and reads one EF, stopping at the length its own TLV header declares.
func readFile(ctx context.Context, c *channel, name string, opts *ReadOpts, info *ReadInfo) ([]byte, error) {
	fid, err := fileID(name)
	if err != nil {
		return nil, err
	}
	return readFileID(ctx, c, name, fid, opts, info)
}

// readFileID is readFile for an explicit file identifier.
func readFileID(ctx context.Context, c *channel, name string, fid uint16, opts *ReadOpts, info *ReadInfo) ([]byte, error) {
	if err := selectFile(ctx, c, name, fid); err != nil {
		return nil, err
	}
	le := opts.MaxLe
	var data []byte
	total := -1
	for total < 0 || len(data) < total {
		want := le
		if total >= 0 && total-len(data) < want {
			want = total - len(data)
			if len(data) > 0x7FFF {
				want += 4 // room for the DO'53' header of odd-INS responses
				if want > le {
					want = le
				}
			}
		}
		r, err := readBinary(ctx, c, len(data), want)
		var se *StatusError
		if errors.As(err, &se) && se.sessionEnded && (se.SW == 0x6700 || se.SW>>8 == 0x6C) {
			// The chip refused the length in the clear and dropped secure messaging.
			return nil, &leRefused{le: want, extended: want > apdu.MaxShortNe || opts.ExtendedLength, sw: se.SW, err: err}
		}
		if err != nil {
			return nil, fmt.Errorf("READ BINARY %s at %d: %w", name, len(data), err)
		}
		switch {
		case r.SW == 0x9000 || r.SW == 0x6282:
			if len(r.Data) == 0 {
				if total < 0 && len(data) == 0 {
					return nil, fmt.Errorf("%w: %s is empty", ErrProtocol, name)
				}
				return nil, fmt.Errorf("%w: %s ends at %d bytes, its header says %d", ErrProtocol, name, len(data), total)
			}
			if len(r.Data) > want {
				return nil, fmt.Errorf("%w: READ BINARY %s returned %d bytes for Le %d", ErrProtocol, name, len(r.Data), want)
			}
			data = append(data, r.Data...)
			if total < 0 {
				if total, err = tlvTotalLen(data, name); err != nil {
					return nil, err
				}
				if total < 0 && r.SW == 0x6282 {
					return nil, fmt.Errorf("%w: %s is shorter than its TLV header", ErrProtocol, name)
				}
			}
			if total >= 0 && len(data) < total && r.SW == 0x6282 {
				return nil, fmt.Errorf("%w: %s ends at %d bytes, its header says %d", ErrProtocol, name, len(data), total)
			}
		case r.SW == 0x6700 || r.SW>>8 == 0x6C:
			next := nextLe(le)
			if r.SW>>8 == 0x6C && int(r.SW&0xFF) > 0 && int(r.SW&0xFF) < le {
				next = int(r.SW & 0xFF)
			}
			if next == 0 {
				return nil, &StatusError{Op: fmt.Sprintf("READ BINARY %s at %d with Le %d", name, len(data), want), SW: r.SW}
			}
			le = next
			opts.MaxLe = le // later files start at the length that works
			info.LeFallbacks++
		default:
			return nil, &StatusError{Op: fmt.Sprintf("READ BINARY %s at %d", name, len(data)), SW: r.SW}
		}
	}
	return data[:total], nil
}

// aid is the eMRTD application identifier (ICAO 9303-10).
func emrtdAID() []byte { return []byte{0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01} }

func selectApplication(ctx context.Context, c *channel) error {
	_, err := c.expectOK(ctx, "SELECT eMRTD application", apdu.Command{INS: 0xA4, P1: 0x04, P2: 0x0C, Data: emrtdAID()})
	return err
}

// Read runs access control (PACE, else BAC) over t with the given key and reads the
// document's files. It returns what was read even when a later step fails, with the error.
func Read(ctx context.Context, t Transceiver, key mrz.AccessKey, opts *ReadOpts) (lds.Files, *ReadInfo, error) {
	start := time.Now()
	o := DefaultReadOpts()
	if opts != nil {
		o = *opts
	}
	if err := o.validate(); err != nil {
		return nil, nil, err
	}
	if key.IsZero() {
		return nil, nil, errors.New("read: no access key")
	}
	c := &channel{t: t}
	info := &ReadInfo{}
	files := lds.Files{}
	defer func() {
		info.Link = c.stats
		info.Duration = time.Since(start)
	}()

	if err := establish(ctx, c, key, &o, info, files); err != nil {
		return files, info, err
	}
	list := o.Files
	if len(list) == 0 {
		com, err := readFile(ctx, c, "EF.COM", &o, info)
		if err != nil {
			return files, info, err
		}
		files["EF.COM"] = com
		info.Read = append(info.Read, "EF.COM")
		dgs, err := comDataGroups(com)
		if err != nil {
			return files, info, err
		}
		for _, dg := range dgs {
			if dg != "DG3" && dg != "DG4" {
				list = append(list, dg)
			}
		}
		// DG14 and DG15 drive Chip and Active Authentication; some EF.COMs leave them
		// out although the chip has them, so they are always tried (a SELECT each).
		list = append(list, "DG14", "DG15", "EF.SOD")
	}
	if o.ChipAuthentication {
		// DG14 first: Chip Authentication then protects everything after it.
		for i, n := range list {
			if n == "DG14" {
				list = append([]string{"DG14"}, append(list[:i:i], list[i+1:]...)...)
				break
			}
		}
	}
	tried := map[string]bool{}
	for _, name := range list {
		if _, done := files[name]; done || tried[name] {
			continue
		}
		tried[name] = true
		b, err, rerr := readLeFallback(ctx, c, name, key, &o, info, files)
		if rerr != nil {
			return files, info, rerr
		}
		var se *StatusError
		switch {
		case errors.Is(err, errNotFound):
			info.Missing = append(info.Missing, name)
			continue
		case errors.As(err, &se) && se.SW == 0x6982 && c.sm != nil:
			info.Denied = append(info.Denied, name)
			continue
		case err != nil && info.CA != "" && !info.CAConfirmed:
			// The first exchange under the Chip Authentication keys failed: the chip does
			// not hold the private key of DG14 (a clone) or the link was tampered with.
			return files, info, fmt.Errorf("%w: %s not confirmed: %w", ErrChipAuth, info.CA, err)
		case err != nil:
			return files, info, err
		}
		files[name] = b
		info.Read = append(info.Read, name)
		if info.CA != "" {
			info.CAConfirmed = true
		}
		if name == "DG14" && o.ChipAuthentication && info.CA == "" && info.cam == nil {
			ch, err := chooseCA(b)
			if err != nil {
				info.CAError = err.Error()
				continue
			}
			if err := chipAuthenticate(ctx, c, ch, o.Rand); err != nil {
				return files, info, fmt.Errorf("%w: %s: %w", ErrChipAuth, ch.name, err)
			}
			info.CA = ch.name
		}
	}
	if info.cam != nil {
		if err := verifyCAM(info.cam, files); err != nil {
			return files, info, fmt.Errorf("%w: %w", ErrChipAuth, err)
		}
		info.CAM = "pass"
	}
	if o.ActiveAuthentication {
		if _, ok := files["DG15"]; ok {
			aa, err := internalAuthenticate(ctx, c, &o)
			if err != nil {
				info.AAError = err.Error()
			}
			info.AA = aa
		}
	}
	return files, info, nil
}

// readLeFallback reads name; when the chip refuses the length asked for (extended length,
// or an Le too large), it lowers o's Le, re-establishes access (the refusal ends the secure
// messaging session) and reads again, as long as Read's budget of re-establishments lasts.
// err is the read's outcome; rerr, a failed re-establishment, ends the whole Read.
func readLeFallback(ctx context.Context, c *channel, name string, key mrz.AccessKey, o *ReadOpts, info *ReadInfo, files lds.Files) (b []byte, err, rerr error) {
	b, err = readFile(ctx, c, name, o, info)
	for lr := (*leRefused)(nil); errors.As(err, &lr) && info.Reestablished < maxReestablish; {
		if !lowerLe(o, lr) {
			break
		}
		info.LeFallbacks++
		info.Reestablished++
		if rerr := reestablish(ctx, c, key, o, info, files); rerr != nil {
			return nil, nil, fmt.Errorf("re-establishing access after a refused length: %w", rerr)
		}
		b, err = readFile(ctx, c, name, o, info)
	}
	return b, err, nil
}

// lowerLe sets o to the next length to try after lr, false when there is none left.
func lowerLe(o *ReadOpts, lr *leRefused) bool {
	switch {
	case lr.extended:
		o.ExtendedLength, o.MaxLe = false, apdu.MaxShortNe
	case nextLe(lr.le) > 0:
		o.MaxLe = nextLe(lr.le)
		// 6Cxx names the length the chip wants.
		if lr.sw>>8 == 0x6C && int(lr.sw&0xFF) > 0 && int(lr.sw&0xFF) < lr.le {
			o.MaxLe = int(lr.sw & 0xFF)
		}
	default:
		return false
	}
	return true
}

// establish reads EF.CardAccess, runs PACE or BAC and selects the eMRTD application.
func establish(ctx context.Context, c *channel, key mrz.AccessKey, o *ReadOpts, info *ReadInfo, files lds.Files) error {
	var why error
	if o.Access != AccessBAC {
		ca, err := readFile(ctx, c, "EF.CardAccess", o, info)
		if err == nil {
			files["EF.CardAccess"] = ca
			ch, cerr := choosePACE(ca)
			if cerr != nil {
				why = cerr
			} else {
				cam, perr := paceRun(ctx, c, key, ch, o.Rand)
				if perr == nil {
					info.cam = cam
					info.Access = "PACE"
					info.PACEProtocol = paceProtocolName(ch.oid)
					info.PACECurve = ch.curve.Name
					info.Cipher = ch.cipher.String()
					// EF.CardSecurity (master file, PACE only) exists on chips with PACE-CAM
					// or terminal authentication; most passports have none.
					if _, done := files["EF.CardSecurity"]; !done {
						cs, err := readFileID(ctx, c, "EF.CardSecurity", 0x011D, o, info)
						switch {
						case err == nil:
							files["EF.CardSecurity"] = cs
							info.Read = append(info.Read, "EF.CardSecurity")
						case !errors.Is(err, errNotFound):
							return err
						}
					}
					return selectApplication(ctx, c)
				}
				if errors.Is(perr, ErrAccessDenied) || errors.Is(perr, ErrMAC) || ctx.Err() != nil {
					return perr
				}
				why = perr
			}
		} else {
			why = fmt.Errorf("no usable EF.CardAccess: %w", err)
		}
		if o.Access == AccessPACE {
			return fmt.Errorf("pace: %w", why)
		}
		info.PACEFallback = why.Error()
	}
	if key.Kind() != mrz.KeyMRZ {
		if why != nil {
			return fmt.Errorf("a CAN needs PACE, which failed: %w", why)
		}
		return errors.New("a CAN needs PACE; BAC was requested")
	}
	c.sm = nil
	if err := selectApplication(ctx, c); err != nil {
		return err
	}
	if err := bac(ctx, c, key, o.Rand); err != nil {
		return err
	}
	info.Access = "BAC"
	info.Cipher = sm.TDES.String()
	return nil
}

// reestablish runs access control again after the chip ended secure messaging, and Chip
// Authentication if it had been run.
func reestablish(ctx context.Context, c *channel, key mrz.AccessKey, o *ReadOpts, info *ReadInfo, files lds.Files) error {
	c.sm = nil
	if err := establish(ctx, c, key, o, info, files); err != nil {
		return err
	}
	if info.CA == "" {
		return nil
	}
	ch, err := chooseCA(files["DG14"])
	if err != nil {
		return err
	}
	if err := chipAuthenticate(ctx, c, ch, o.Rand); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrChipAuth, ch.name, err)
	}
	return nil
}
