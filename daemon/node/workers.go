package node

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/edgeid/edgeid/daemon/audit"
	"github.com/edgeid/edgeid/daemon/face"
	"github.com/edgeid/edgeid/daemon/fleet"
	"github.com/edgeid/edgeid/daemon/health"
	"github.com/edgeid/edgeid/daemon/match"
)

// followTemplates keeps the gallery in step with the enrolled templates: rebuilt on every
// change and every minute (templates expire), swapped in without blocking searches.
func followTemplates(ctx context.Context, t *fleet.Templates, fusion *match.Fusion, idx *match.Index, changed <-chan struct{}, log *slog.Logger) error {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		var entries []match.Entry
		for _, tp := range t.Snapshot(time.Now(), face.RecognizerModel) {
			tm, err := match.ParseTemplate(tp.Data)
			if err != nil || tm.Model != tp.Model {
				log.Warn("enrolled template refused", "identity", tp.Identity, "err", err)
				continue
			}
			entries = append(entries, match.Entry{ID: tp.Identity, Template: tm})
		}
		g, err := match.NewFusedGallery(fusion, entries)
		if err != nil {
			log.Error("gallery not rebuilt", "err", err)
		} else {
			idx.Replace(g)
			log.Info("gallery", "enrolled", g.Len(), "kernel", g.Kernel())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-tick.C:
		}
	}
}

// notifySystemd says READY once running and pings the watchdog while the daemon is healthy
// enough to check people (the web server and kiosk loop run; a reader fault is reported by
// health, not by letting systemd restart us in a loop).
func notifySystemd(ctx context.Context, t *health.Tracker) error {
	daemon.SdNotify(false, daemon.SdNotifyReady)
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		<-ctx.Done()
		return nil
	}
	tick := time.NewTicker(interval / 2)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			daemon.SdNotify(false, daemon.SdNotifyStopping)
			return nil
		case <-tick.C:
			daemon.SdNotify(false, daemon.SdNotifyWatchdog)
		}
	}
}

// pruneAudit deletes the collected audit records older than keep, at start and then every
// period, until ctx ends. A failed pass is logged and tried again at the next one.
func pruneAudit(ctx context.Context, l *audit.Log, keep, period time.Duration, log *slog.Logger) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		n, err := l.PruneBefore(ctx, time.Now().Add(-keep))
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Warn("audit: pruning collected records failed", "err", err)
		case n > 0:
			log.Info("audit: pruned collected records", "records", n, "older_than", keep)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// checks are the parts' own health checks, which Run polls in one way.
func (n *Node) checks() []health.Check {
	var cs []health.Check
	if n.reader != nil {
		cs = append(cs, health.Check{Name: "reader", Check: func(context.Context) (bool, string) {
			if err := n.reader.Health(); err != nil {
				return false, err.Error()
			}
			return true, ""
		}})
	}
	return append(cs,
		health.Check{Name: "camera", Check: func(context.Context) (bool, string) {
			if st := n.cam.Status(); !st.OK && st.Reason != "not opened yet" {
				return false, st.Reason
			}
			return true, ""
		}},
		health.Check{Name: "revocations", Check: func(context.Context) (bool, string) {
			v, exp := n.rev.Version()
			if n.rev.Stale(time.Now()) {
				return false, fmt.Sprintf("list version %d is stale or missing (expiry %s)", v, exp.Format(time.RFC3339))
			}
			return true, fmt.Sprintf("version %d", v)
		}},
		health.Check{Name: "audit_outbox", Check: func(ctx context.Context) (bool, string) {
			m, err := n.auditLog.OutboxLen(ctx)
			if err != nil {
				return false, err.Error()
			}
			return m < 10000, fmt.Sprintf("%d records waiting for the collector", m)
		}},
		health.Check{Name: "fleet", Check: func(context.Context) (bool, string) { return fleetHealth(n.client.Status(), n.rev, time.Now()) }},
		health.Check{Name: "disk", Check: func(context.Context) (bool, string) { return diskHealth(n.disk, n.client.Status()) }},
	)
}

// fleetHealth says whether the fleet link is up, when the fleet was last heard from and how
// old the revocation list is.
func fleetHealth(st fleet.Status, rev *fleet.Revocations, now time.Time) (bool, string) {
	contact := "never"
	if !st.LastContact.IsZero() {
		contact = now.Sub(st.LastContact).Round(time.Second).String() + " ago"
	}
	list := "no revocation list"
	if v, exp := rev.Version(); v != 0 {
		list = fmt.Sprintf("revocation list %d expires in %s", v, exp.Sub(now).Round(time.Second))
	}
	if !st.Connected {
		return false, fmt.Sprintf("not connected to the broker; last contact %s; %s", contact, list)
	}
	return true, fmt.Sprintf("connected; last contact %s; %s", contact, list)
}

// diskHealth is the state disk's condition: enough free space for a check's audit record.
func diskHealth(d *diskCheck, st fleet.Status) (bool, string) {
	free, err := d.free()
	if err != nil {
		return false, err.Error()
	}
	if free < d.min {
		return false, fmt.Sprintf("%s free on %s, below the %s a check needs: no new checks until space returns", mib(free), d.dir, mib(d.min))
	}
	detail := mib(free) + " free"
	if st.SessionFault != "" {
		detail += "; the MQTT session is kept in memory since " + st.SessionFault
	}
	return true, detail
}
