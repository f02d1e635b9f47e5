// Package store is the kiosk's local database: a Badger v4 key-value store with encryption at
// rest, synchronous writes and memory options sized for a 1-2 GB ARM board.
//
// The key space is split by a one-byte-plus-slash prefix so that each owner iterates only its
// own records:
//
//	m/  metadata (schema version, list versions, pointers)
//	r/  revocations
//	t/  enrolled templates
//	a/  audit records
//	o/  audit outbox
//	k/  trust store
//	d/  kiosk-local deny list
//
// The store knows nothing of the record formats; daemon/fleet and daemon/audit define them.
package store

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/edgeid/edgeid/internal/boundedfile"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// SchemaVersion is the layout version this code reads and writes.
const SchemaVersion = 1

// Space is a key-space prefix.
type Space string

// The key spaces.
const (
	Meta        Space = "m/"
	Revocations Space = "r/"
	Templates   Space = "t/"
	Audit       Space = "a/"
	Outbox      Space = "o/"
	Trust       Space = "k/"
	Deny        Space = "d/"
)

// Key returns the space prefix followed by parts joined without separators.
func (s Space) Key(parts ...[]byte) []byte {
	n := len(s)
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 0, n)
	k = append(k, s...)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

// U64 is a big-endian uint64, so that numeric keys sort in order.
func U64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

// schemaKey() holds the layout version.
func schemaKey() []byte { return Meta.Key([]byte("schema")) }

// Opts configures Open.
type Opts struct {
	// Dir holds the database files; it is created with mode 0700 when missing.
	Dir string
	// EncryptionKey is the AES key (16, 24 or 32 bytes). Empty disables encryption at rest,
	// which Open refuses unless AllowPlaintext is set (tests of the erasure path use it).
	EncryptionKey  []byte
	AllowPlaintext bool
	// SyncWrites makes every committed transaction durable before Commit returns.
	SyncWrites bool

	// Memory settings; see DefaultOpts for the small-board values.
	MemTableSize     int64
	NumMemtables     int
	BlockCacheSize   int64
	IndexCacheSize   int64
	BaseTableSize    int64
	ValueLogFileSize int64
	NumCompactors    int

	// Logger receives Badger's warnings and errors; nil discards them.
	Logger *slog.Logger
}

// DefaultOpts returns options for a 1-2 GB ARM board: at most about 100 MB of RAM for
// memtables and caches, durable writes, encryption required.
func DefaultOpts() Opts {
	return Opts{
		SyncWrites:       true,
		MemTableSize:     16 << 20,
		NumMemtables:     2,
		BlockCacheSize:   32 << 20,
		IndexCacheSize:   16 << 20,
		BaseTableSize:    2 << 20,
		ValueLogFileSize: 64 << 20,
		NumCompactors:    2,
	}
}

// DB is an open store.
type DB struct {
	db   *badger.DB
	dir  string
	sync bool
	enc  bool
}

// Open opens (creating when missing) the store in o.Dir and checks its schema version.
func Open(o *Opts) (*DB, error) {
	if o == nil {
		d := DefaultOpts()
		o = &d
	}
	if o.Dir == "" {
		return nil, errors.New("store: no directory given")
	}
	switch len(o.EncryptionKey) {
	case 0:
		if !o.AllowPlaintext {
			return nil, errors.New("store: no encryption key given and plaintext not allowed")
		}
	case 16, 24, 32:
	default:
		return nil, fmt.Errorf("store: encryption key is %d bytes, want 16, 24 or 32", len(o.EncryptionKey))
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	bo := badger.DefaultOptions(o.Dir).
		WithSyncWrites(o.SyncWrites).
		WithLogger(badgerLogger{o.Logger}).
		WithMetricsEnabled(false).
		WithCompression(options.None).
		WithNumGoroutines(2).
		WithNumLevelZeroTables(3).
		WithNumLevelZeroTablesStall(8)
	if o.MemTableSize > 0 {
		bo = bo.WithMemTableSize(o.MemTableSize)
	}
	if o.NumMemtables > 0 {
		bo = bo.WithNumMemtables(o.NumMemtables)
	}
	if o.BlockCacheSize > 0 {
		bo = bo.WithBlockCacheSize(o.BlockCacheSize)
	}
	if o.IndexCacheSize > 0 {
		bo = bo.WithIndexCacheSize(o.IndexCacheSize)
	}
	if o.BaseTableSize > 0 {
		bo = bo.WithBaseTableSize(o.BaseTableSize)
	}
	if o.ValueLogFileSize > 0 {
		bo = bo.WithValueLogFileSize(o.ValueLogFileSize)
	}
	if o.NumCompactors > 0 {
		bo = bo.WithNumCompactors(o.NumCompactors)
	}
	if len(o.EncryptionKey) > 0 {
		if bo.IndexCacheSize == 0 {
			// Badger needs an index cache when encryption is on.
			bo = bo.WithIndexCacheSize(16 << 20)
		}
		bo = bo.WithEncryptionKey(o.EncryptionKey).WithEncryptionKeyRotationDuration(30 * 24 * time.Hour)
	}
	// A crash right after Badger created a log file, before it sized it, leaves an empty .mem
	// or .vlog file that Badger then refuses to open ("Create a new file"). An empty log holds
	// no data: remove such files first, while holding the directory's lock.
	if n, err := removeEmptyLogs(o.Dir); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	} else if n > 0 {
		badgerLogger{o.Logger}.Warningf("store: removed %d empty log file(s) left by a crash", n)
	}
	bdb, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", o.Dir, err)
	}
	s := &DB{db: bdb, dir: o.Dir, sync: o.SyncWrites, enc: len(o.EncryptionKey) > 0}
	if err := s.checkSchema(); err != nil {
		_ = bdb.Close()
		return nil, err
	}
	return s, nil
}

// removeEmptyLogs deletes zero-length memtable and value-log files in dir. It takes the same
// flock Badger takes on dir/LOCK and does nothing when another process holds it (Badger's Open
// then reports that).
func removeEmptyLogs(dir string) (int, error) {
	lock, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return 0, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return 0, nil
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".mem") && !strings.HasSuffix(e.Name(), ".vlog") {
			continue
		}
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() || fi.Size() != 0 {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// ErrSchema is returned when the store on disk has a layout this code does not know.
var ErrSchema = errors.New("store: unknown schema version")

func (s *DB) checkSchema() error {
	return s.db.Update(func(txn *badger.Txn) error {
		it, err := txn.Get(schemaKey())
		if errors.Is(err, badger.ErrKeyNotFound) {
			return txn.Set(schemaKey(), U64(SchemaVersion))
		}
		if err != nil {
			return fmt.Errorf("store: read schema version: %w", err)
		}
		v, err := it.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("store: read schema version: %w", err)
		}
		if len(v) != 8 {
			return fmt.Errorf("%w: schema record is %d bytes, want 8", ErrSchema, len(v))
		}
		if got := binary.BigEndian.Uint64(v); got != SchemaVersion {
			return fmt.Errorf("%w: %d on disk, this build reads %d", ErrSchema, got, SchemaVersion)
		}
		return nil
	})
}

// Badger returns the underlying database for the packages that own a key space.
func (s *DB) Badger() *badger.DB { return s.db }

// Update runs fn in a read-write transaction and commits it (durably when SyncWrites is set).
func (s *DB) Update(fn func(txn *badger.Txn) error) error { return s.db.Update(fn) }

// View runs fn in a read-only transaction.
func (s *DB) View(fn func(txn *badger.Txn) error) error { return s.db.View(fn) }

// Get returns a copy of the value at key, or found=false.
func (s *DB) Get(key []byte) (val []byte, found bool, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		val, err = it.ValueCopy(nil)
		return err
	})
	return val, found, err
}

// Iterate calls fn for each key with the prefix, in key order, until fn returns an error or
// ErrStop. The key and value are only valid during the call.
func (s *DB) Iterate(ctx context.Context, prefix []byte, fn func(key, val []byte) error) error {
	return s.db.View(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = prefix
		o.PrefetchValues = true
		o.PrefetchSize = 64
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			item := it.Item()
			err := item.Value(func(v []byte) error { return fn(item.Key(), v) })
			if errors.Is(err, ErrStop) {
				return nil
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// ErrStop ends an Iterate early without error.
var ErrStop = errors.New("store: stop iteration")

// Erase removes every key with the prefix, including older versions kept in the LSM tree, so
// that nothing under it stays readable. It blocks writers while it runs.
func (s *DB) Erase(prefix []byte) error {
	if len(prefix) < 3 {
		return fmt.Errorf("store: refusing to erase the short prefix %q", prefix)
	}
	if err := s.db.DropPrefix(prefix); err != nil {
		return fmt.Errorf("store: erase %q: %w", prefix, err)
	}
	return nil
}

// NewWriteBatch returns a batch for bulk loads that need not be atomic as a whole (the caller
// makes them visible atomically by flipping a pointer in one transaction afterwards).
func (s *DB) NewWriteBatch() *badger.WriteBatch { return s.db.NewWriteBatch() }

// Sync flushes the write-ahead log to disk.
func (s *DB) Sync() error { return s.db.Sync() }

// GC runs value-log garbage collection every interval until ctx is done. Each round rewrites
// log files while at least ratio of a file is garbage, and stops when a round finds nothing.
func (s *DB) GC(ctx context.Context, interval time.Duration, ratio float64) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		for ctx.Err() == nil {
			err := s.db.RunValueLogGC(ratio)
			if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrRejected) {
				break
			}
			if err != nil {
				return fmt.Errorf("store: value-log gc: %w", err)
			}
		}
	}
}

// Halt closes the database; it is safe to call once.
func (s *DB) Halt() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// String describes the store.
func (s *DB) String() string {
	return fmt.Sprintf("store(%s, encrypted=%t, sync=%t)", s.dir, s.enc, s.sync)
}

// LoadKeyFile reads an AES key from path: 16, 24 or 32 raw bytes, or the same as hex text with
// an optional trailing newline. A regular file must not be readable by group or others (mode
// 0600 or stricter); a systemd credential under $CREDENTIALS_DIRECTORY is accepted as is.
func LoadKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("store: key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("store: key file %s is not a regular file", path)
	}
	credDir := os.Getenv("CREDENTIALS_DIRECTORY")
	isCred := credDir != "" && strings.HasPrefix(path, strings.TrimSuffix(credDir, "/")+"/")
	if !isCred && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("store: key file %s has mode %#o, want 0600 or stricter", path, fi.Mode().Perm())
	}
	if fi.Size() > 128 {
		return nil, fmt.Errorf("store: key file %s is %d bytes, too large for a key", path, fi.Size())
	}
	b, err := boundedfile.ReadFile(path, 128)
	if err != nil {
		return nil, fmt.Errorf("store: key file: %w", err)
	}
	return ParseKey(b)
}

// ParseKey accepts 16, 24 or 32 raw bytes, or 32, 48 or 64 hex digits with optional
// surrounding white space.
func ParseKey(b []byte) ([]byte, error) {
	switch len(b) {
	case 16, 24, 32:
		return append([]byte(nil), b...), nil
	}
	t := strings.TrimSpace(string(b))
	switch len(t) {
	case 32, 48, 64:
		k, err := hex.DecodeString(t)
		if err != nil {
			return nil, fmt.Errorf("store: key is not hex: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("store: key is %d bytes, want 16, 24 or 32 raw bytes or as many in hex", len(b))
}

// badgerLogger forwards Badger's messages to slog (warnings and errors only).
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	if b.l != nil {
		b.l.Error(strings.TrimSpace(fmt.Sprintf(f, a...)), "component", "badger")
	}
}

func (b badgerLogger) Warningf(f string, a ...any) {
	if b.l != nil {
		b.l.Warn(strings.TrimSpace(fmt.Sprintf(f, a...)), "component", "badger")
	}
}
func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}

// Txn is a Badger transaction.
type Txn = badger.Txn
