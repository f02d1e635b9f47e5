package fleet

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/store"
	"github.com/edgeid/edgeid/internal/testenv"
)

const crashEntries = 20000

// TestKillDuringSnapshotApply re-executes the test binary as a child that applies ever newer
// 20,000-entry snapshots (and deltas), kills it with SIGKILL at varying moments, and checks
// that the reopened store holds exactly one complete version, at least the last one the child
// reported, with no partial generation left on disk.
func TestKillDuringSnapshotApply(t *testing.T) {
	if dir := os.Getenv("EDGEID_FLEET_CHILD_DIR"); dir != "" {
		crashChild(t, dir)
		return
	}
	dir := t.TempDir()
	seed := make([]byte, ed25519.SeedSize)
	key := ed25519.NewKeyFromSeed(seed)
	deadline := time.Now().Add(12 * time.Second)
	for round := 0; round < 10 && time.Now().Before(deadline); round++ {
		var applied uint64
		testenv.KillChild(t, testenv.Child{Env: []string{"EDGEID_FLEET_CHILD_DIR=" + dir}, Stderr: os.Stderr}, func(line string) bool {
			v, err := strconv.ParseUint(strings.TrimPrefix(line, "applied "), 10, 64)
			if err != nil {
				return false
			}
			applied = v
			if v < uint64(2+round) {
				return false
			}
			// Let the next apply get under way, a different distance in each round.
			time.Sleep(time.Duration(round%5*4) * time.Millisecond)
			return true
		})
		if applied == 0 {
			t.Fatalf("round %d: the child applied nothing", round)
		}
		db := openStore(t, dir)
		r := newRevs(t, db, key)
		v, _ := r.Version()
		if v < applied {
			t.Errorf("round %d: version %d after SIGKILL, but %d was reported applied", round, v, applied)
		}
		if r.Len() != crashEntries {
			t.Errorf("round %d: %d entries at version %d, want %d", round, r.Len(), v, crashEntries)
		}
		now := t0.Add(time.Hour)
		for _, e := range crashSet(v)[:50] {
			if err := r.Check(e, now); !errors.Is(err, ErrRevoked) {
				t.Errorf("round %d: entry of version %d not revoked: %v", round, v, err)
				break
			}
		}
		keys := 0
		pfx := r.gs.prefix(r.hdr.Gen)
		err := db.Iterate(context.Background(), store.Revocations.Key(), func(k, _ []byte) error {
			keys++
			if !strings.HasPrefix(string(k), string(pfx)) {
				return fmt.Errorf("key %x outside the live generation %d", k, r.hdr.Gen)
			}
			return nil
		})
		if err != nil {
			t.Errorf("round %d: %v", round, err)
		}
		t.Logf("round %d: killed after version %d was reported; reopened at version %d, %d keys", round, applied, v, keys)
		db.Halt()
	}
}

// crashSet is the list content of version v: odd versions are snapshots, even ones deltas
// that swap one entry, so both kinds of apply are interrupted.
func crashSet(v uint64) []Entry {
	base := v
	if v%2 == 0 {
		base = v - 1
	}
	es := docs(fmt.Sprintf("V%d-", base), crashEntries)
	if v%2 == 0 {
		es[0] = DocumentEntry("UTO", fmt.Sprintf("DELTA%d", v))
	}
	return es
}

func crashChild(t *testing.T, dir string) {
	o := store.DefaultOpts()
	o.Dir = dir
	o.EncryptionKey = make([]byte, 32)
	db, err := store.Open(&o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	r := newRevs(t, db, key)
	v, _ := r.Version()
	w := bufio.NewWriter(os.Stdout)
	for {
		v++
		var msg []byte
		if v%2 == 1 {
			msg = snapshot(key, v, crashSet(v))
		} else {
			prev := crashSet(v - 1)
			msg = delta(key, v-1, v, []Entry{crashSet(v)[0]}, []Entry{prev[0]})
		}
		if err := r.Apply(context.Background(), msg); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(3)
		}
		fmt.Fprintf(w, "applied %d\n", v)
		w.Flush()
	}
}
