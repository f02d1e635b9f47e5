package fleet

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts what the fleet link accepted and refused.
type Metrics struct {
	Refused  *prometheus.CounterVec // stream, reason
	Applied  *prometheus.CounterVec // stream, type (snapshot, delta)
	Outbox   prometheus.Gauge       // audit records waiting for the collector's ack
	Sent     prometheus.Counter     // audit records published (including re-sends)
	Acked    prometheus.Counter     // audit records acknowledged and removed
	Versions *prometheus.GaugeVec   // stream -> live version
}

// NewMetrics creates the metrics and registers them on reg when it is not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgeid_fleet_refused_total", Help: "Fleet messages refused, by stream and reason.",
		}, []string{"stream", "reason"}),
		Applied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgeid_fleet_applied_total", Help: "Fleet messages applied, by stream and type.",
		}, []string{"stream", "type"}),
		Outbox: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edgeid_audit_outbox_records", Help: "Audit records waiting for the collector's ack.",
		}),
		Sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgeid_audit_sent_total", Help: "Audit records published, re-sends included.",
		}),
		Acked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgeid_audit_acked_total", Help: "Audit records acknowledged by the collector.",
		}),
		Versions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edgeid_fleet_version", Help: "Live version of each fleet stream.",
		}, []string{"stream"}),
	}
	if reg != nil {
		reg.MustRegister(m.Refused, m.Applied, m.Outbox, m.Sent, m.Acked, m.Versions)
	}
	return m
}

// Reason maps a refusal error to its metric label.
func Reason(err error) string {
	for _, r := range []struct {
		err  error
		name string
	}{
		{ErrOversize, "oversize"},
		{ErrMalformed, "malformed"},
		{ErrUnknownKey, "unknown-key"},
		{ErrSignature, "signature"},
		{ErrKind, "kind"},
		{ErrForeignChain, "foreign-chain"},
		{ErrRollback, "rollback"},
		{ErrReplay, "replay"},
		{ErrGap, "gap"},
		{ErrSite, "site"},
	} {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "store"
}
