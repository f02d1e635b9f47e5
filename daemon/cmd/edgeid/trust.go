package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgeid/edgeid/daemon/cmd/internal/cli"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
	"github.com/edgeid/edgeid/internal/atomicfile"
	"github.com/edgeid/edgeid/internal/boundedfile"
)

// runTrustImport is "edgeid trust import FILE...": CSCA certificates (trusted as given:
// compare the printed fingerprints out of band), master lists (kept only when they verify
// against a CSCA already trusted or imported in the same run) and CRLs.
func runTrustImport(ctx context.Context, e env, args []string) error {
	fs := newFlags(e, "trust import", "FILE...")
	state := fs.String("state", defaultState, "state folder; the trust store is its trust/ folder")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return cli.Usagef("want at least one file to import")
	}
	dir := filepath.Join(*state, "trust")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	items, err := readTrustItems(ctx, pos)
	if err != nil {
		return err
	}
	if err := checkTrustItems(dir, items); err != nil {
		return err
	}
	// Nothing is written once a signal has arrived; what is written is whole (atomic files).
	if err := stopped(ctx); err != nil {
		return err
	}
	for _, it := range items {
		if err := writeTrustItem(e, dir, it); err != nil {
			return err
		}
	}
	return nil
}

// trustItem is one file to import: its path, bytes and what they parsed as.
type trustItem struct {
	src string
	raw []byte
	tf  *pki.TrustFile
}

// readTrustItems reads and parses every file before anything is checked or written.
func readTrustItems(ctx context.Context, pos []string) ([]trustItem, error) {
	var items []trustItem
	for _, p := range pos {
		if err := stopped(ctx); err != nil {
			return nil, err
		}
		b, err := boundedfile.ReadFile(p, pki.MaxTrustFileSize)
		if err != nil {
			return nil, err
		}
		tf, err := pki.ParseTrustFile(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		items = append(items, trustItem{p, b, tf})
	}
	return items, nil
}

// checkTrustItems refuses the import when a master list or CRL is not vouched for by what is
// trusted already in dir plus the certificates and master lists of this import.
func checkTrustItems(dir string, items []trustItem) error {
	var roots []*pki.Certificate
	if hasEntries(dir) {
		cur, err := pki.LoadTrustStore(dir)
		if err != nil {
			return fmt.Errorf("current trust store: %w", err)
		}
		roots = cur.CSCAs()
	}
	for _, it := range items {
		if it.tf.Kind == pki.KindCertificates {
			roots = append(roots, it.tf.Certificates...)
		}
	}
	// Check everything before writing anything.
	for _, it := range items {
		if it.tf.Kind == pki.KindMasterList {
			if err := it.tf.MasterList.Verify(roots); err != nil {
				return fmt.Errorf("%s: refused: %w", it.src, err)
			}
		}
	}
	for _, it := range items {
		if it.tf.Kind == pki.KindMasterList {
			roots = append(roots, it.tf.MasterList.CSCAs...)
		}
	}
	// A CRL is kept only when a trusted CSCA of its issuer name signed it.
	for _, it := range items {
		if it.tf.Kind != pki.KindCRL {
			continue
		}
		signed := false
		for _, c := range roots {
			if it.tf.CRL.Issuer.Equal(c.Subject) && it.tf.CRL.CheckSignatureFrom(c) == nil {
				signed = true
				break
			}
		}
		if !signed {
			return fmt.Errorf("%s: refused: no trusted CSCA named %s signed this CRL", it.src, it.tf.CRL.Issuer)
		}
	}
	return nil
}

// writeTrustItem writes one checked item into the trust store and says what it wrote.
func writeTrustItem(e env, dir string, it trustItem) error {
	switch it.tf.Kind {
	case pki.KindCertificates:
		for _, c := range it.tf.Certificates {
			name := fmt.Sprintf("%s-%s.cer", safeName(c.Subject.Country()), c.Fingerprint()[:16])
			if err := atomicfile.WriteFile(filepath.Join(dir, name), c.Raw, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(e.Stdout, "certificate %s\n  sha256 %s\n  -> %s\n", c.Subject, c.Fingerprint(), name)
			if !c.IsCA || (c.HasKeyUsage && c.KeyUsage&pki.KeyUsageCertSign == 0) {
				fmt.Fprintf(e.Stderr, "warning: %s is not marked as a CA that signs certificates; documents will only chain to it if it issued their DS certificates\n", c.Subject)
			}
		}
	case pki.KindMasterList:
		name := safeName(strings.TrimSuffix(filepath.Base(it.src), filepath.Ext(it.src))) + ".ml"
		if err := atomicfile.WriteFile(filepath.Join(dir, name), it.raw, 0o644); err != nil {
			return err
		}
		ml := it.tf.MasterList
		fmt.Fprintf(e.Stdout, "master list signed by %s: %d CSCAs, signature and chain verified\n  -> %s\n", ml.Signer.Subject, len(ml.CSCAs), name)
	case pki.KindCRL:
		crl := it.tf.CRL
		name := fmt.Sprintf("%s-%s.crl", safeName(crl.Issuer.Country()), crl.ThisUpdate.UTC().Format("20060102T150405"))
		if err := atomicfile.WriteFile(filepath.Join(dir, name), crl.Raw, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(e.Stdout, "CRL of %s (%d entries, %s)\n  -> %s\n", crl.Issuer, len(crl.Revoked), crl.ThisUpdate.UTC().Format("2006-01-02"), name)
	}
	return nil
}

// runTrustList is "edgeid trust list".
func runTrustList(_ context.Context, e env, args []string) error {
	fs := newFlags(e, "trust list", "")
	state := fs.String("state", defaultState, "state folder; the trust store is its trust/ folder")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return cli.Usagef("trust list takes no arguments")
	}
	dir := filepath.Join(*state, "trust")
	store := pki.NewTrustStore()
	if hasEntries(dir) {
		if store, err = pki.LoadTrustStore(dir); err != nil {
			return err
		}
	}
	type row struct {
		Country   string `json:"country"`
		Subject   string `json:"subject"`
		Serial    string `json:"serial"`
		NotBefore string `json:"not_before"`
		NotAfter  string `json:"not_after"`
		Key       string `json:"key"`
		SHA256    string `json:"sha256"`
		Source    string `json:"source"`
	}
	var rows []row
	for _, c := range store.SortedByCountry() {
		key := pki.KeyDescription(c.PublicKey)
		if c.PublicKey == nil {
			key = "unusable: " + c.PublicKeyErr.Error()
		}
		rows = append(rows, row{c.Subject.Country(), c.Subject.String(), fmt.Sprintf("%X", c.SerialNumber),
			c.NotBefore.UTC().Format("2006-01-02"), c.NotAfter.UTC().Format("2006-01-02"), key, c.Fingerprint(), store.Source(c)})
	}
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Folder string `json:"folder"`
			CSCAs  []row  `json:"cscas"`
			CRLs   int    `json:"crls"`
		}{dir, rows, len(store.CRLs())})
	}
	for _, r := range rows {
		fmt.Fprintf(e.Stdout, "%-3s %s .. %s  %-28s %s  [%s]\n", r.Country, r.NotBefore, r.NotAfter, r.Key, r.Subject, r.Source)
	}
	for _, c := range store.CRLs() {
		next := "no next update"
		if !c.NextUpdate.IsZero() {
			next = "next " + c.NextUpdate.UTC().Format("2006-01-02")
		}
		fmt.Fprintf(e.Stdout, "CRL %s: %d revoked, issued %s, %s\n", c.Issuer, len(c.Revoked), c.ThisUpdate.UTC().Format("2006-01-02"), next)
	}
	fmt.Fprintf(e.Stdout, "%d trusted CSCA certificates, %d CRLs in %s\n", len(rows), len(store.CRLs()), dir)
	return nil
}

// safeName keeps letters, digits, '-', '_' and '.' of s for use in a file name.
func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 || strings.HasPrefix(b.String(), ".") {
		return "x" + b.String()
	}
	return b.String()
}
