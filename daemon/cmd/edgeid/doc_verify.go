package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/edgeid/edgeid/daemon/cmd/internal/cli"
	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/pa"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
)

// defaultState is where the kiosk keeps its state; the trust store is its "trust" folder.
const defaultState = "/var/lib/edgeid"

// stringsFlag is a repeatable string flag.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

// runDocVerify is "edgeid doc verify DIR [--trust PATH]... [--at RFC3339] [--json]".
func runDocVerify(_ context.Context, e env, args []string) error {
	fs := newFlags(e, "doc verify", "DIR|EF.SOD")
	var trust stringsFlag
	fs.Var(&trust, "trust", "CSCA certificate, master list, CRL or folder of them (repeatable; default: the trust folder under --state)")
	state := fs.String("state", defaultState, "state folder whose trust/ folder is used when no --trust is given")
	at := fs.String("at", "", "check certificate validity at this time (RFC 3339; default now)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("want exactly one dump folder (or an EF.SOD file), got %d arguments", len(pos))
	}
	when := time.Now()
	if *at != "" {
		if when, err = time.Parse(time.RFC3339, *at); err != nil {
			return cli.Usagef("--at: %v", err)
		}
	}
	files, err := loadDocument(pos[0])
	if err != nil {
		return err
	}
	paths := []string(trust)
	if len(paths) == 0 {
		if d := filepath.Join(*state, "trust"); hasEntries(d) {
			paths = []string{d}
		}
	}
	var store *pki.TrustStore
	if len(paths) > 0 {
		if store, err = pki.LoadTrustStore(paths...); err != nil {
			return err
		}
	}
	r := pa.PassiveAuthentication(files, &pa.PAOpts{Trust: store, At: when})
	if *asJSON {
		out := struct {
			Document string `json:"document"`
			Passed   bool   `json:"passed"`
			*pa.Report
		}{pos[0], r.Passed(), r}
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.Stdout, "%s (checked at %s, %d trusted CSCAs)\n", pos[0], when.UTC().Format(time.RFC3339), storeLen(store))
		fmt.Fprint(e.Stdout, r.String())
	}
	if !r.Passed() {
		if c, ok := r.FirstFailure(); ok {
			return &cli.ExitStatus{Code: 1, Msg: fmt.Sprintf("document NOT authenticated: %s: %s", c.Name, c.Reason)}
		}
		return &cli.ExitStatus{Code: 1, Msg: "document NOT authenticated: no check passed"}
	}
	if !*asJSON {
		fmt.Fprintln(e.Stdout, "document authenticated: every applicable check passed")
	}
	return nil
}

// loadDocument reads a dump folder, or a single file taken as EF.SOD.
func loadDocument(p string) (lds.Files, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return lds.LoadDump(p)
	}
	if st.Size() > lds.MaxFileSize {
		return nil, fmt.Errorf("%s: larger than the %d byte limit of an EF.SOD", p, lds.MaxFileSize)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return lds.Files{"EF.SOD": b}, nil
}

func hasEntries(dir string) bool {
	ents, err := os.ReadDir(dir)
	return err == nil && len(ents) > 0
}

func storeLen(s *pki.TrustStore) int {
	if s == nil {
		return 0
	}
	return s.Len()
}
