package fleet

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/fleet/fleettest"
	"github.com/edgeid/edgeid/internal/testenv"
)

// TestSessionStoreFullDisk: with the MQTT session folder on a full disk, paho's file store
// panicked from paho's own goroutine ("write .../o.5.tmp: no space left on device") and took
// the daemon down. Now the session moves to memory, the records still reach the collector and
// the link reports the fault.
func TestSessionStoreFullDisk(t *testing.T) {
	b := fleettest.StartMosquitto(t, fleettest.Opts{Fleet: fleetName, Admins: []string{"collector"}})
	fleetKey, collKey := newKey(t), newKey(t)
	k := newKiosk(t, b, "kiosk-1", fleetKey, collKey)
	col := startCollector(t, b, collKey, map[string]ed25519.PublicKey{"kiosk-1": k.sign.Public().(ed25519.PublicKey)})
	disk := testenv.SmallDisk(t, 256<<10)
	testenv.Fill(t, disk, 0)
	o := k.client.o
	o.SessionDir = disk
	var err error
	if k.client, err = NewClient(&o); err != nil {
		t.Fatal(err)
	}
	run(t, k.client.Run)
	appendN(t, k.log, 20)
	waitFor(t, "20 records at the collector", 20*time.Second, func() bool { return col.n.Load() == 20 })
	st := k.client.Status()
	if st.SessionFault == "" {
		t.Error("no session fault reported with the session folder on a full disk")
	}
	if !st.Connected || time.Since(st.LastContact) > time.Minute {
		t.Errorf("status %+v: want connected with a recent contact", st)
	}
}
