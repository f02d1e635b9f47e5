package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/edgeid/edgeid/daemon/cmd/internal/cli"
	"github.com/edgeid/edgeid/daemon/fleet"
	"github.com/edgeid/edgeid/daemon/store"
)

// Default locations of the kiosk's store and its key (a systemd credential named store-key
// takes precedence over the key file when $CREDENTIALS_DIRECTORY is set).
const (
	defaultStoreDir = "/var/lib/edgeid/store"
	defaultStoreKey = "/etc/edgeid/store.key"
)

func storeKeyPath(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if d := os.Getenv("CREDENTIALS_DIRECTORY"); d != "" {
		p := filepath.Join(d, "store-key")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return defaultStoreKey
}

// runEnrollDelete erases an enrolled identity's templates from the local store. The daemon
// must be stopped (Badger holds a lock on the directory).
func runEnrollDelete(_ context.Context, e env, args []string) error {
	fs := newFlags(e, "enroll delete", "ID")
	dir := fs.String("store", defaultStoreDir, "store directory")
	keyFile := fs.String("store-key", "", "AES key file for the store (default $CREDENTIALS_DIRECTORY/store-key, then "+defaultStoreKey+")")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("want exactly one identity id, got %d arguments", len(pos))
	}
	key, err := store.LoadKeyFile(storeKeyPath(*keyFile))
	if err != nil {
		return err
	}
	o := store.DefaultOpts()
	o.Dir, o.EncryptionKey = *dir, key
	db, err := store.Open(&o)
	if err != nil {
		return fmt.Errorf("%w (is the daemon running? stop it first)", err)
	}
	n, err := fleet.EraseIdentity(db, pos[0])
	if cerr := db.Halt(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if n == 0 {
		return &cli.ExitStatus{Code: 1, Msg: fmt.Sprintf("no templates stored for identity %q", pos[0])}
	}
	_, err = fmt.Fprintf(e.Stdout, "erased %d template(s) of identity %s\n", n, pos[0])
	return err
}
