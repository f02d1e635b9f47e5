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

// TestUpdateLogsTransitionsOnce: a part that stays down is logged once, its recovery once,
// and a first healthy reading not at all.
func TestUpdateLogsTransitionsOnce(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	tr := New()
	up := true
	checks := []Check{{Name: "fleet", Check: func(context.Context) (bool, string) {
		if up {
			return true, "connected"
		}
		return false, "not connected"
	}}}
	ctx := context.Background()
	Update(ctx, tr, checks, log)
	up = false
	for range 3 {
		Update(ctx, tr, checks, log)
	}
	up = true
	Update(ctx, tr, checks, log)
	Update(ctx, tr, checks, log)
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
	if c, _ := tr.Get("fleet"); !c.OK || c.Detail != "connected" {
		t.Errorf("condition %+v", c)
	}
}
