package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/edgeid/edgeid/internal/boundedfile"
	"sort"
	"strconv"
	"strings"

	"github.com/edgeid/edgeid/daemon/cmd/internal/cli"
	"github.com/edgeid/edgeid/drivers/emrtd"
	"github.com/edgeid/edgeid/drivers/emrtd/emrtdsim"
	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
	"github.com/edgeid/edgeid/drivers/emrtd/pa"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
	"github.com/edgeid/edgeid/internal/atomicfile"
)

// runDocRead implements "edgeid doc read": access control and reading of a document's chip.
func runDocRead(ctx context.Context, e env, args []string) error {
	fs := newFlags(e, "doc read", "")
	reader := fs.String("reader", "", "reader: sim (the virtual chip behind an emulated PN532 on I2C), pn532:i2c:/dev/i2c-1, pn532:spi:/dev/spidev0.0, pn532:uart:/dev/ttyAMA0, pcsc:0")
	mrz := fs.String("mrz", "", "access key from the MRZ: the second line of a TD3 (44 characters) or TD2, or a whole MRZ")
	doc := fs.String("doc", "", "access key: document number (with --dob and --expiry)")
	dob := fs.String("dob", "", "access key: date of birth YYMMDD")
	expiry := fs.String("expiry", "", "access key: date of expiry YYMMDD")
	can := fs.String("can", "", "access key: card access number (PACE only)")
	dump := fs.String("dump", "", "write the files read into this folder (it holds personal data: keep it safe)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	access := fs.String("access", "auto", "access control: auto (PACE, else BAC), pace or bac")
	extended := fs.Bool("extended", false, "use extended-length READ BINARY")
	maxLe := fs.Int("max-le", 0, "largest Le to ask for (default 256, or 65536 with --extended)")
	record := fs.String("record", "", "record the session (APDUs and the reader's randomness) into this transcript file for replay in tests; it can be decrypted with the access key, so record specimens only")
	simDump := fs.String("sim-dump", "", "sim: folder of files the virtual chip serves (EF.COM, EF.SOD, DG1 ...)")
	simPACE := fs.String("sim-pace", "AES-128:13", "sim: PACE offers [GM:|CAM:]CIPHER:PARAMID[,...] (12 P-256, 13 brainpoolP256r1, 15 P-384, 16 brainpoolP384r1, 17 brainpoolP512r1, 18 P-521) or none")
	simBAC := fs.Bool("sim-bac", true, "sim: the chip offers BAC")
	simCAN := fs.String("sim-can", "", "sim: the chip's card access number")
	simMaxLe := fs.Int("sim-max-le", 0, "sim: largest response the chip sends (default 256, 65536 with --sim-extended)")
	simRefuse := fs.Int("sim-refuse-le-above", 0, "sim: answer 6700 to READ BINARY asking for more (0: never)")
	simExtended := fs.Bool("sim-extended", false, "sim: the chip accepts extended-length APDUs")
	simAAKey := fs.String("sim-aa-key", "", "sim: PKCS#8 private key (RSA or NIST ECDSA) for Active Authentication")
	simCAKey := fs.String("sim-ca-key", "", "sim: PKCS#8 or SEC 1 EC private key for Chip Authentication (must match the dump's DG14)")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("unexpected argument %q", pos[0])
	}
	key, err := accessKeyFromFlags(*mrz, *doc, *dob, *expiry, *can)
	if err != nil {
		return err
	}
	var t emrtd.Transceiver
	switch *reader {
	case "sim":
		if *simDump == "" {
			return cli.Usagef("--reader sim needs --sim-dump DIR")
		}
		chip, err := simChip(*simDump, *simPACE, *simBAC, *simCAN, *simMaxLe, *simRefuse, *simExtended, *simAAKey, *simCAKey)
		if err != nil {
			return err
		}
		card, done, err := simOverPN532(ctx, e, chip)
		if err != nil {
			return err
		}
		defer done()
		t = card
	case "":
		return cli.Usagef("--reader is required (sim, pn532:<i2c|spi|uart>:<device>, pcsc:<n>)")
	default:
		card, done, err := readerCard(ctx, e, *reader)
		if err != nil {
			return err
		}
		defer done()
		t = card
	}
	opts := emrtd.DefaultReadOpts()
	opts.Access = emrtd.Access(*access)
	opts.ExtendedLength = *extended
	opts.MaxLe = *maxLe
	files, info, err := readRecorded(ctx, t, key, &opts, *record)
	if err != nil {
		if errors.Is(err, emrtd.ErrAccessDenied) || errors.Is(err, emrtd.ErrChipAuth) {
			// Negative outcomes, not faults: the key is wrong, or the chip failed to prove
			// it holds its Chip Authentication key (a possible clone).
			return &cli.ExitStatus{Code: 1, Msg: "edgeid doc read: " + err.Error()}
		}
		return err
	}
	if *dump != "" {
		if err := files.WriteDump(*dump); err != nil {
			return err
		}
	}
	return printReadResult(e, files, info, *dump, *asJSON)
}

// readRecorded reads the chip; with a path, it records the session (APDUs and the reader's
// randomness) there, failed reads included.
func readRecorded(ctx context.Context, t emrtd.Transceiver, key mrz.AccessKey, opts *emrtd.ReadOpts, path string) (lds.Files, *emrtd.ReadInfo, error) {
	if path == "" {
		return emrtd.Read(ctx, t, key, opts)
	}
	rec := &emrtdsim.Record{T: t}
	opts.Rand = rec.RecordRand(rand.Reader)
	files, info, err := emrtd.Read(ctx, rec, key, opts)
	var buf bytes.Buffer
	if _, werr := rec.Transcript().WriteTo(&buf); werr == nil {
		werr = atomicfile.WriteFile(path, buf.Bytes(), 0o600)
		if werr != nil && err == nil {
			err = werr
		}
	}
	return files, info, err
}

// accessKeyFromFlags takes exactly one of --mrz, --doc/--dob/--expiry or --can.
func accessKeyFromFlags(line, doc, dob, expiry, can string) (mrz.AccessKey, error) {
	n := 0
	for _, set := range []bool{line != "", doc != "" || dob != "" || expiry != "", can != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return mrz.AccessKey{}, cli.Usagef("give exactly one access key: --mrz LINE2, --doc N --dob YYMMDD --expiry YYMMDD, or --can NNNNNN")
	}
	switch {
	case line != "":
		k, err := mrz.NewKeyFromMRZ(line)
		if err != nil {
			return mrz.AccessKey{}, cli.Usagef("--mrz: %v", err)
		}
		return k, nil
	case can != "":
		k, err := mrz.NewCANKey(can)
		if err != nil {
			return mrz.AccessKey{}, cli.Usagef("--can: %v", err)
		}
		return k, nil
	}
	if doc == "" || dob == "" || expiry == "" {
		return mrz.AccessKey{}, cli.Usagef("--doc, --dob and --expiry go together")
	}
	k, err := mrz.NewMRZKey(doc, dob, expiry)
	if err != nil {
		return mrz.AccessKey{}, cli.Usagef("%v", err)
	}
	return k, nil
}

// simChip builds the virtual chip from a dump folder; its MRZ key comes from the dump's DG1.
func simChip(dir, paceSpec string, bac bool, can string, maxLe, refuse int, extended bool, aaKeyFile, caKeyFile string) (*emrtdsim.Chip, error) {
	files, err := lds.LoadDump(dir)
	if err != nil {
		return nil, err
	}
	o := emrtdsim.Opts{Files: files, BAC: bac, CAN: can, MaxLe: maxLe, RefuseLeAbove: refuse, ExtendedLength: extended}
	if o.MaxLe == 0 && extended {
		o.MaxLe = 65536
	}
	if dg1, ok := files["DG1"]; ok {
		m, err := mrzFromDG1(dg1)
		if err != nil {
			return nil, fmt.Errorf("sim: %s/DG1: %w", dir, err)
		}
		o.MRZInformation = m.Key().MRZInformation()
	} else if bac {
		return nil, fmt.Errorf("sim: %s has no DG1, so the chip has no MRZ key", dir)
	}
	if paceSpec != "none" && paceSpec != "" {
		for _, s := range strings.Split(paceSpec, ",") {
			parts := strings.Split(s, ":")
			mapping := "GM"
			if len(parts) == 3 {
				mapping, parts = parts[0], parts[1:]
			}
			if len(parts) != 2 {
				return nil, cli.Usagef("--sim-pace %q: want [GM:|CAM:]CIPHER:PARAMID, e.g. AES-128:13", s)
			}
			n, err := strconv.Atoi(parts[1])
			if err != nil {
				return nil, cli.Usagef("--sim-pace %q: parameter ID %q is not a number", s, parts[1])
			}
			o.PACE = append(o.PACE, emrtdsim.PACEOffer{Mapping: mapping, Cipher: parts[0], ParamID: n})
		}
	}
	if aaKeyFile != "" {
		der, err := boundedfile.ReadFile(aaKeyFile, boundedfile.Key)
		if err != nil {
			return nil, fmt.Errorf("sim: %w", err)
		}
		k, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("sim: AA key %s: %w", aaKeyFile, err)
		}
		signer, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("sim: AA key %s: %T is not a signing key", aaKeyFile, k)
		}
		o.AAKey = signer
	}
	if caKeyFile != "" {
		if o.CAKey, err = boundedfile.ReadFile(caKeyFile, boundedfile.Key); err != nil {
			return nil, fmt.Errorf("sim: %w", err)
		}
	}
	return emrtdsim.New(&o)
}

// mrzFromDG1 extracts and parses the MRZ (tag 5F1F) of DG1 (tag 61).
func mrzFromDG1(dg1 []byte) (*mrz.MRZ, error) {
	t, err := tlv.ParseTLVExpect(dg1, 0x61)
	if err != nil {
		return nil, err
	}
	v, ok := t.Find(0x5F1F)
	if !ok {
		return nil, errors.New("no MRZ (tag 5F1F)")
	}
	return mrz.ParseMRZ(string(v.Value))
}

type readResult struct {
	Access       string         `json:"access"`
	PACEProtocol string         `json:"pace_protocol,omitempty"`
	PACECurve    string         `json:"pace_curve,omitempty"`
	PACEFallback string         `json:"pace_fallback,omitempty"`
	Cipher       string         `json:"cipher"`
	Files        map[string]int `json:"files"` // name -> size in bytes
	Missing      []string       `json:"missing,omitempty"`
	Denied       []string       `json:"denied,omitempty"`
	APDUs        int            `json:"apdus"`
	BytesSent    int64          `json:"bytes_sent"`
	BytesRecv    int64          `json:"bytes_received"`
	LeFallbacks  int            `json:"le_fallbacks"`
	CAM          string         `json:"pace_cam,omitempty"`
	CA           string         `json:"chip_authentication,omitempty"`
	CAConfirmed  bool           `json:"chip_authentication_confirmed"`
	CAError      string         `json:"chip_authentication_error,omitempty"`
	AA           string         `json:"active_authentication"` // pass, fail or not run
	AAError      string         `json:"active_authentication_error,omitempty"`
	DurationMS   float64        `json:"duration_ms"`
	Dump         string         `json:"dump,omitempty"`
}

func printReadResult(e env, files lds.Files, info *emrtd.ReadInfo, dump string, asJSON bool) error {
	r := readResult{
		Access: info.Access, PACEProtocol: info.PACEProtocol, PACECurve: info.PACECurve, PACEFallback: info.PACEFallback,
		Cipher: info.Cipher, Files: map[string]int{}, Missing: info.Missing, Denied: info.Denied,
		APDUs: info.Link.APDUs, BytesSent: info.Link.BytesSent, BytesRecv: info.Link.BytesReceived,
		LeFallbacks: info.LeFallbacks, CAM: info.CAM, CA: info.CA, CAConfirmed: info.CAConfirmed, CAError: info.CAError, AA: "not run", AAError: info.AAError,
		DurationMS: float64(info.Duration.Microseconds()) / 1000, Dump: dump,
	}
	for n, b := range files {
		r.Files[n] = len(b)
	}
	if info.AA != nil && len(info.AA.Signature) > 0 {
		// The challenge lives only as long as this read: verify the chip's answer now.
		r.AA, r.AAError = "pass", ""
		if err := verifyAA(files, info.AA); err != nil {
			r.AA, r.AAError = "fail", err.Error()
		}
	}
	if asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	w := e.Stdout
	fmt.Fprintf(w, "access:   %s (%s)", r.Access, r.Cipher)
	if r.PACEProtocol != "" {
		fmt.Fprintf(w, " %s on %s", r.PACEProtocol, r.PACECurve)
	}
	fmt.Fprintln(w)
	if r.PACEFallback != "" {
		fmt.Fprintf(w, "pace:     not used: %s\n", r.PACEFallback)
	}
	names := make([]string, 0, len(r.Files))
	for n := range r.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "files:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-15s %6d bytes\n", n, r.Files[n])
	}
	if len(r.Missing) > 0 {
		fmt.Fprintf(w, "absent:   %s\n", strings.Join(r.Missing, " "))
	}
	if len(r.Denied) > 0 {
		fmt.Fprintf(w, "refused:  %s (access needs terminal authentication)\n", strings.Join(r.Denied, " "))
	}
	switch {
	case r.CAM != "":
		fmt.Fprintf(w, "CA:       PACE-CAM %s\n", r.CAM)
	case r.CA != "":
		fmt.Fprintf(w, "CA:       %s, confirmed %v\n", r.CA, r.CAConfirmed)
	case r.CAError != "":
		fmt.Fprintf(w, "CA:       not run: %s\n", r.CAError)
	}
	switch {
	case r.AA == "pass":
		fmt.Fprintln(w, "AA:       pass (the chip signed a fresh challenge with its DG15 key)")
	case r.AAError != "":
		fmt.Fprintf(w, "AA:       %s: %s\n", r.AA, r.AAError)
	}
	fmt.Fprintf(w, "link:     %d APDUs, %d bytes sent, %d received, %d Le fallbacks, %.1f ms\n", r.APDUs, r.BytesSent, r.BytesRecv, r.LeFallbacks, r.DurationMS)
	if dump != "" {
		fmt.Fprintf(w, "dump:     %s\n", dump)
	}
	return nil
}

// verifyAA checks the chip's Active Authentication signature against DG15 (and DG14's
// ActiveAuthenticationInfo for ECDSA keys). DG15 itself is trusted only once Passive
// Authentication has checked its hash (edgeid doc verify on the dump).
func verifyAA(files lds.Files, aa *emrtd.AAExchange) error {
	pub, err := lds.ParseDG15(files["DG15"])
	if err != nil {
		return err
	}
	var info *lds.ActiveAuthenticationInfo
	if dg14, ok := files["DG14"]; ok {
		si, err := lds.ParseSecurityInfos(dg14)
		if err != nil {
			return fmt.Errorf("DG14: %w", err)
		}
		if len(si.ActiveAuth) > 0 {
			info = &si.ActiveAuth[0]
		}
	}
	return pa.VerifyActiveAuthentication(pub, aa.Challenge, aa.Signature, info)
}
