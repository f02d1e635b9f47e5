package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func testKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func open(t *testing.T, dir string, key []byte) *DB {
	t.Helper()
	o := DefaultOpts()
	o.Dir = dir
	o.EncryptionKey = key
	o.AllowPlaintext = key == nil
	db, err := Open(&o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

// rawContains reports whether any file under dir contains needle.
func rawContains(t *testing.T, dir string, needle []byte) (string, bool) {
	t.Helper()
	var hit string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, needle) {
			hit = p
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hit, hit != ""
}

func TestEncryptionAtRest(t *testing.T) {
	docNumber := []byte("L898902C3")
	tmpl := bytes.Repeat([]byte("TEMPLATE-BYTES-"), 64)
	for _, tc := range []struct {
		name      string
		key       []byte
		wantFound bool
	}{
		{"plaintext control", nil, true},
		{"encrypted", testKey(t), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			db := open(t, dir, tc.key)
			err := db.Update(func(txn *Txn) error {
				if err := txn.Set(Audit.Key([]byte("1")), append([]byte("doc="), docNumber...)); err != nil {
					return err
				}
				return txn.Set(Templates.Key([]byte("id-1")), tmpl)
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Halt(); err != nil {
				t.Fatal(err)
			}
			for _, needle := range [][]byte{docNumber, tmpl[:48]} {
				p, got := rawContains(t, dir, needle)
				if got != tc.wantFound {
					t.Errorf("raw files contain %q: got %t (%s), want %t", needle[:9], got, p, tc.wantFound)
				}
			}
			// And the data reads back through the store.
			db = open(t, dir, tc.key)
			defer db.Halt()
			v, ok, err := db.Get(Templates.Key([]byte("id-1")))
			if err != nil || !ok || !bytes.Equal(v, tmpl) {
				t.Errorf("Get after reopen: ok=%t err=%v equal=%t", ok, err, bytes.Equal(v, tmpl))
			}
		})
	}
}

// A SIGKILL just after Badger created a log file, before it sized it, leaves an empty file
// that Badger alone refuses to open; Open removes it and opens the store with its data.
func TestOpenAfterCrashLeftEmptyLogs(t *testing.T) {
	for _, name := range []string{"00099.mem", "00099.vlog"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			key := testKey(t)
			db := open(t, dir, key)
			if err := db.Update(func(txn *Txn) error { return txn.Set(Audit.Key([]byte("k")), []byte("v")) }); err != nil {
				t.Fatal(err)
			}
			db.Halt()
			if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			db = open(t, dir, key)
			defer db.Halt()
			if v, ok, err := db.Get(Audit.Key([]byte("k"))); err != nil || !ok || string(v) != "v" {
				t.Errorf("Get after reopen: %q %t %v", v, ok, err)
			}
		})
	}
}

func TestWrongKeyRefused(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir, testKey(t))
	if err := db.Halt(); err != nil {
		t.Fatal(err)
	}
	o := DefaultOpts()
	o.Dir = dir
	o.EncryptionKey = testKey(t)
	if db, err := Open(&o); err == nil {
		db.Halt()
		t.Fatal("Open with another key: got nil error, want one")
	}
}

func TestEraseLeavesNothingOnDisk(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir, nil) // plaintext, so that the raw check means something
	secret := bytes.Repeat([]byte("ERASE-ME-TEMPLATE-"), 32)
	keep := bytes.Repeat([]byte("KEEP-THIS-TEMPLATE"), 32)
	for i := 0; i < 3; i++ { // several versions of the same key
		err := db.Update(func(txn *Txn) error {
			if err := txn.Set(Templates.Key([]byte("gone/"), U64(uint64(i))), secret); err != nil {
				return err
			}
			return txn.Set(Templates.Key([]byte("kept/"), U64(uint64(i))), keep)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Erase(Templates.Key([]byte("gone/"))); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := db.Iterate(context.Background(), Templates.Key(), func(k, v []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("templates left after erase: got %d, want 3", n)
	}
	if err := db.Halt(); err != nil {
		t.Fatal(err)
	}
	if p, found := rawContains(t, dir, secret[:36]); found {
		t.Errorf("erased bytes still on disk in %s", p)
	}
	if _, found := rawContains(t, dir, keep[:36]); !found {
		t.Errorf("kept bytes not on disk: the raw check is broken")
	}
}

func TestSchemaVersion(t *testing.T) {
	dir := t.TempDir()
	key := testKey(t)
	db := open(t, dir, key)
	if err := db.Update(func(txn *Txn) error { return txn.Set(schemaKey(), U64(SchemaVersion+1)) }); err != nil {
		t.Fatal(err)
	}
	db.Halt()
	o := DefaultOpts()
	o.Dir, o.EncryptionKey = dir, key
	_, err := Open(&o)
	if !errors.Is(err, ErrSchema) {
		t.Fatalf("Open of a newer schema: got %v, want ErrSchema", err)
	}
}

func TestLoadKeyFile(t *testing.T) {
	dir := t.TempDir()
	hexKey := []byte("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n")
	for _, tc := range []struct {
		name    string
		data    []byte
		mode    os.FileMode
		wantLen int
		wantErr bool
	}{
		{"hex 0600", hexKey, 0o600, 32, false},
		{"raw 16 0400", bytes.Repeat([]byte{7}, 16), 0o400, 16, false},
		{"group readable", hexKey, 0o640, 0, true},
		{"short", []byte("abc"), 0o600, 0, true},
		{"not hex", bytes.Repeat([]byte("zz"), 32), 0o600, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			if err := os.WriteFile(p, tc.data, tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tc.mode); err != nil {
				t.Fatal(err)
			}
			k, err := LoadKeyFile(p)
			if (err != nil) != tc.wantErr {
				t.Fatalf("LoadKeyFile: got err %v, want error %t", err, tc.wantErr)
			}
			if len(k) != tc.wantLen {
				t.Errorf("key length: got %d, want %d", len(k), tc.wantLen)
			}
		})
	}
}

func TestGCStopsWithContext(t *testing.T) {
	db := open(t, t.TempDir(), testKey(t))
	defer db.Halt()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- db.GC(ctx, 20*time.Millisecond, 0.5) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("GC: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("GC did not return after its context ended")
	}
}

func FuzzParseKey(f *testing.F) {
	f.Add([]byte("00112233445566778899aabbccddeeff"))
	f.Add(bytes.Repeat([]byte{1}, 32))
	f.Add([]byte(" 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseKey(b)
		if err != nil {
			return
		}
		if n := len(k); n != 16 && n != 24 && n != 32 {
			t.Fatalf("accepted a %d-byte key", n)
		}
	})
}
