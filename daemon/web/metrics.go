package web

import (
	"github.com/edgeid/edgeid/daemon/health"
	"github.com/edgeid/edgeid/daemon/kiosk"
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	checks     *prometheus.CounterVec
	reasons    *prometheus.CounterVec
	stages     *prometheus.HistogramVec
	staffCalls prometheus.Counter
}

// healthCollector exports each health condition as a 0/1 gauge at scrape time.
type healthCollector struct {
	t    *health.Tracker
	desc *prometheus.Desc
}

func (c healthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c healthCollector) Collect(ch chan<- prometheus.Metric) {
	conds, _ := c.t.Snapshot()
	for _, cond := range conds {
		v := 0.0
		if cond.OK {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, cond.Name)
	}
}

func newMetrics(reg *prometheus.Registry, t *health.Tracker) (*metrics, error) {
	m := &metrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgeid_checks_total", Help: "Checks by flow and outcome; a referred check counts as referred, then with the outcome the attendant gave it."}, []string{"flow", "outcome"}),
		reasons: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgeid_check_reasons_total", Help: "Reasons given with rejected or aborted checks."},
			[]string{"reason"}),
		stages: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "edgeid_stage_seconds", Help: "Time spent in each stage of a check.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}}, []string{"stage"}),
		staffCalls: prometheus.NewCounter(prometheus.CounterOpts{Name: "edgeid_staff_calls_total", Help: "Presses of the call-staff button."}),
	}
	hc := healthCollector{t: t, desc: prometheus.NewDesc("edgeid_condition_ok", "1 when the named part is healthy (camera, reader, revocations, sync ...).", []string{"name"}, nil)}
	for _, c := range []prometheus.Collector{m.checks, m.reasons, m.stages, m.staffCalls, hc} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) observe(e kiosk.Event) {
	if e.Outcome == "" {
		return
	}
	m.checks.WithLabelValues(e.Flow, string(e.Outcome)).Inc()
	for _, r := range e.Reasons {
		m.reasons.WithLabelValues(r).Inc()
	}
	for stage, ms := range e.StageMillis {
		m.stages.WithLabelValues(string(stage)).Observe(ms / 1000)
	}
}
