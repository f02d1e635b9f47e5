package health

import (
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
