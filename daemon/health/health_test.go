package health

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestTracker(t *testing.T) {
	tr := New()
	clock := time.Unix(1000, 0)
	tr.now = func() time.Time { return clock }
	if conds, ok := tr.Snapshot(); !ok || len(conds) != 0 {
		t.Fatalf("empty tracker: %v %v", conds, ok)
	}
	tr.Set("camera", true, "")
	clock = clock.Add(time.Minute)
	tr.Set("reader", false, "no answer on /dev/i2c-1")
	conds, ok := tr.Snapshot()
	if ok || len(conds) != 2 || conds[0].Name != "camera" || conds[1].OK {
		t.Fatalf("got %+v %v", conds, ok)
	}
	clock = clock.Add(time.Minute)
	tr.Set("reader", false, "still nothing")
	conds, _ = tr.Snapshot()
	if !conds[1].Since.Equal(time.Unix(1060, 0)) || conds[1].Detail != "still nothing" {
		t.Errorf("Since moved without a change of state: %+v", conds[1])
	}
	tr.Set("reader", true, "")
	if _, ok := tr.Snapshot(); !ok {
		t.Error("not healthy after every condition recovered")
	}
}

// TestPollerLogsTransitionsOnce: a part that stays down is logged once, its recovery once,
// and a first healthy reading not at all.
func TestPollerLogsTransitionsOnce(t *testing.T) {
	var buf bytes.Buffer
	up := true
	p := &Poller{Tracker: New(), Logger: slog.New(slog.NewTextHandler(&buf, nil)), Checks: []Check{{Name: "fleet", Check: func(context.Context) (bool, string) {
		if up {
			return true, "connected"
		}
		return false, "not connected"
	}}}}
	ctx := context.Background()
	p.Update(ctx)
	up = false
	for range 3 {
		p.Update(ctx)
	}
	up = true
	p.Update(ctx)
	p.Update(ctx)
	got := buf.String()
	if n := strings.Count(got, "fleet is down"); n != 1 {
		t.Errorf("logged the fall %d times, want 1:\n%s", n, got)
	}
	if n := strings.Count(got, "fleet recovered"); n != 1 {
		t.Errorf("logged the recovery %d times, want 1:\n%s", n, got)
	}
	if n := strings.Count(got, "msg="); n != 2 {
		t.Errorf("%d log lines, want 2:\n%s", n, got)
	}
	if c, _ := p.Tracker.Get("fleet"); !c.OK || c.Detail != "connected" {
		t.Errorf("condition %+v", c)
	}
}

// TestPollerSettles: at start a part that comes up within Settle is not logged as down; one
// still down after it is logged once.
func TestPollerSettles(t *testing.T) {
	var buf bytes.Buffer
	state := map[string]bool{"fleet": false, "camera": false}
	var checks []Check
	for _, name := range []string{"camera", "fleet"} {
		checks = append(checks, Check{Name: name, Check: func(context.Context) (bool, string) { return state[name], "" }})
	}
	p := &Poller{Tracker: New(), Logger: slog.New(slog.NewTextHandler(&buf, nil)), Checks: checks, Settle: 50 * time.Millisecond}
	ctx := context.Background()
	p.Update(ctx)
	if _, ok := p.Tracker.Snapshot(); ok {
		t.Error("healthy while two parts are down")
	}
	state["fleet"] = true
	time.Sleep(60 * time.Millisecond)
	p.Update(ctx)
	p.Update(ctx)
	got := buf.String()
	if strings.Count(got, "camera is down") != 1 || strings.Contains(got, "fleet") {
		t.Errorf("want one line, camera down:\n%s", got)
	}
}
