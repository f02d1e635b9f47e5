package node

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/edgeid/edgeid/daemon/config"
	"github.com/edgeid/edgeid/daemon/store"
)

// secrets are the kiosk's keys, all derived from the store key so that one secret (a file of
// mode 0600 or a systemd credential) is the whole of the kiosk's identity at rest.
type secrets struct {
	store      []byte
	docHMAC    []byte
	checkpoint ed25519.PrivateKey
}

func derive(storeKey []byte, label string) []byte {
	m := hmac.New(sha256.New, storeKey)
	m.Write([]byte("edgeid " + label))
	return m.Sum(nil)
}

// keyPath is where the store key is: store_key_file, else the systemd credential, else the
// state folder.
func keyPath(cfg *config.Config) string {
	if cfg.StoreKeyFile != "" {
		return cfg.StoreKeyFile
	}
	if cred := os.Getenv("CREDENTIALS_DIRECTORY"); cred != "" {
		return filepath.Join(cred, "store-key")
	}
	return filepath.Join(cfg.StateDir, "store.key")
}

// checkKey reads the store key without keeping it, to refuse a missing, malformed or
// world-readable key before anything is written. The simulation makes a missing one.
func checkKey(cfg *config.Config) error {
	path := keyPath(cfg)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && cfg.Simulated() {
		return nil
	}
	_, err := store.LoadKeyFile(path)
	return err
}

func loadSecrets(cfg *config.Config, log *slog.Logger) (*secrets, error) {
	path := keyPath(cfg)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && cfg.Simulated() {
		// Simulation makes its own key; a real kiosk gets one at installation.
		k := make([]byte, 32)
		rand.Read(k)
		if err := os.WriteFile(path, []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
			return nil, err
		}
		log.Info("simulation: generated a store key", "file", path)
	}
	key, err := store.LoadKeyFile(path)
	if err != nil {
		return nil, err
	}
	return &secrets{store: key, docHMAC: derive(key, "document hmac"), checkpoint: ed25519.NewKeyFromSeed(derive(key, "checkpoint key"))}, nil
}
