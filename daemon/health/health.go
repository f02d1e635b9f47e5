// Package health tracks named conditions ("camera", "reader", "revocations", "fleet", "disk")
// that the health endpoint, the metrics and the systemd watchdog report. Each part offers its
// own check (a Check); Poll runs them all in one way and sets their conditions; the daemon is
// healthy when every condition is.
package health

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Condition is the state of one named part.
type Condition struct {
	Name   string    `json:"name"`
	OK     bool      `json:"ok"`
	Detail string    `json:"detail,omitempty"` // what is wrong, for an operator
	Since  time.Time `json:"since"`            // when OK last changed
}

// Tracker holds the conditions. The zero value is not usable; call New.
type Tracker struct {
	mu    sync.Mutex
	conds map[string]Condition
	now   func() time.Time
}

// New returns an empty tracker.
func New() *Tracker { return &Tracker{conds: map[string]Condition{}, now: time.Now} }

// Set records a condition; Since moves only when OK changes. It reports whether OK changed
// (or the condition is new), so that a caller logs each transition once.
func (t *Tracker) Set(name string, ok bool, detail string) (changed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, seen := t.conds[name]
	changed = !seen || c.OK != ok
	if changed {
		c.Since = t.now()
	}
	c.Name, c.OK, c.Detail = name, ok, detail
	t.conds[name] = c
	return changed
}

// Get returns one condition and whether it has been set.
func (t *Tracker) Get(name string) (Condition, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.conds[name]
	return c, ok
}

// Snapshot returns every condition, sorted by name, and whether all are OK.
func (t *Tracker) Snapshot() ([]Condition, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Condition, 0, len(t.conds))
	all := true
	for _, c := range t.conds {
		out = append(out, c)
		all = all && c.OK
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, all
}

// Check is one part's own health check: ok, and a detail for an operator (what is wrong, or
// a short state when all is well).
type Check struct {
	Name  string
	Check func(ctx context.Context) (ok bool, detail string)
}

// Poller runs every part's check in one way and sets its condition. Each change of state is
// logged once: a warning when a part goes bad, info when it recovers. During Settle after the
// first poll nothing is logged (the fleet link is not up yet at start); a part still bad then
// is logged once.
type Poller struct {
	Tracker *Tracker
	Checks  []Check
	Logger  *slog.Logger // nil: nothing is logged
	Settle  time.Duration

	first  time.Time
	logged map[string]bool // the state last logged per condition; absent means OK
}

// Update runs every check once.
func (p *Poller) Update(ctx context.Context) {
	now := time.Now()
	if p.first.IsZero() {
		p.first = now
		p.logged = map[string]bool{}
	}
	quiet := now.Sub(p.first) < p.Settle
	for _, c := range p.Checks {
		ok, detail := c.Check(ctx)
		if ctx.Err() != nil {
			return
		}
		p.Tracker.Set(c.Name, ok, detail)
		was, seen := p.logged[c.Name]
		if quiet || p.Logger == nil || ok == (was || !seen) {
			continue
		}
		p.logged[c.Name] = ok
		if ok {
			p.Logger.Info("health: "+c.Name+" recovered", "detail", detail)
		} else {
			p.Logger.Warn("health: "+c.Name+" is down", "detail", detail)
		}
	}
}

// Run polls every interval until ctx ends.
func (p *Poller) Run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		p.Update(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
