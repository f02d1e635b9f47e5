// Package health tracks named conditions ("camera", "reader", "revocations") that the health
// endpoint, the metrics and the systemd watchdog report. Each part sets its own condition; the
// daemon is healthy when every condition is.
package health

import (
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

// Set records a condition; Since moves only when OK changes.
func (t *Tracker) Set(name string, ok bool, detail string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, seen := t.conds[name]
	if !seen || c.OK != ok {
		c.Since = t.now()
	}
	c.Name, c.OK, c.Detail = name, ok, detail
	t.conds[name] = c
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
