package demo

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/edgeid/edgeid/daemon/fleet"
)

// BackEndOpts configure the simulation's fleet back end.
type BackEndOpts struct {
	Broker string // the broker the kiosk uses
	Fleet  string // fleet name in the topic tree
	Kiosk  string // the one kiosk it collects from
	// FleetKey signs the revocation list; CollectorKey the acknowledgements; KioskKey is the
	// kiosk's checkpoint key, which the collector checks.
	FleetKey, CollectorKey ed25519.PrivateKey
	KioskKey               ed25519.PublicKey
	// AuditFile is where collected records go; it outlives a run, as the kiosk's store does.
	AuditFile string
	Logger    *slog.Logger
}

// BackEnd plays the fleet in simulation: it publishes a signed revocation snapshot that names
// the demo's revoked passports, and collects and acknowledges the kiosk's audit records.
type BackEnd struct {
	col *fleet.Collector
	out *os.File
}

// StartBackEnd publishes the revocation list for d's documents and opens the collector; Run
// collects. A BackEnd that is never Run must be Closed.
func StartBackEnd(ctx context.Context, d *Demo, o BackEndOpts) (*BackEnd, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	now := time.Now()
	list := &fleet.RevocationList{Version: uint64(now.Unix()), Issued: now, Expires: now.Add(24 * time.Hour)}
	for _, doc := range d.Revoked() {
		list.Add = append(list.Add, fleet.DocumentEntry(doc.State, doc.Number))
	}
	cl, err := fleet.Dial(ctx, fleet.Conn{Broker: o.Broker, ClientID: "demo-fleet"})
	if err != nil {
		return nil, err
	}
	err = fleet.Publish(ctx, cl, fleet.NewTopics(o.Fleet).RevSnapshot(), fleet.Seal(fleet.KindRevocations, list.Marshal(), o.FleetKey), true)
	cl.Disconnect(100)
	if err != nil {
		return nil, err
	}
	// The collector resumes from its file, or it would stand at record 0 while the kiosk's
	// earlier records are acked.
	start, err := fleet.ResumePositions(o.AuditFile)
	if err != nil {
		return nil, fmt.Errorf("simulation: %w", err)
	}
	out, err := os.OpenFile(o.AuditFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	col, err := fleet.NewCollector(&fleet.CollectorOpts{Broker: o.Broker, Fleet: o.Fleet, ClientID: "demo-collector", CleanSession: true,
		Key: o.CollectorKey, KioskKeys: map[string]ed25519.PublicKey{o.Kiosk: o.KioskKey}, Out: out, Sync: out.Sync, Start: start, Logger: o.Logger})
	if err != nil {
		out.Close()
		return nil, err
	}
	o.Logger.Info("simulation: fleet back end published the revocation list and collects audit records",
		"revoked", len(list.Add), "audit_file", out.Name())
	return &BackEnd{col: col, out: out}, nil
}

// Run collects until ctx ends, then closes the file.
func (b *BackEnd) Run(ctx context.Context) error {
	defer b.out.Close()
	return b.col.Run(ctx)
}

// Close releases a BackEnd that was never Run.
func (b *BackEnd) Close() error {
	if err := b.out.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}
