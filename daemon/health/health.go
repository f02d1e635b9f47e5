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

// Update runs every check once and sets its condition. Each change of state is logged once:
// a warning when a part goes bad, info when it recovers (not on the first, healthy reading).
func Update(ctx context.Context, t *Tracker, checks []Check, log *slog.Logger) {
	for _, c := range checks {
		ok, detail := c.Check(ctx)
		if ctx.Err() != nil {
			return
		}
		_, seen := t.Get(c.Name)
		if !t.Set(c.Name, ok, detail) || log == nil {
			continue
		}
		switch {
		case !ok:
			log.Warn("health: "+c.Name+" is down", "detail", detail)
		case seen:
			log.Info("health: "+c.Name+" recovered", "detail", detail)
		}
	}
}

// Poll runs Update every interval until ctx ends.
func Poll(ctx context.Context, t *Tracker, checks []Check, interval time.Duration, log *slog.Logger) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		Update(ctx, t, checks, log)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
