package demo

import (
	"context"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/face/facetest"
	"github.com/edgeid/edgeid/daemon/kiosk"
)

// TestHeadsFollowThePrompts: the holder's head looks at the screen, reacts to a prompt after a
// person's reaction time, turns the way it asks (as the face engine measures it), and comes
// back to the front when no move is asked; the photo-attack document shows the print instead.
func TestHeadsFollowThePrompts(t *testing.T) {
	d, err := New(context.Background(), "../../testdata/face", time.Now(), Options{PhotoAttack: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Reader.Halt() })
	last := d.Docs[len(d.Docs)-1]
	if !last.PhotoAttack || last.Expect != kiosk.Rejected || last.Reason != kiosk.ReasonLiveness {
		t.Fatalf("the last document is %+v, want the photo attack refused for liveness", last)
	}
	eng := facetest.Engine(t, "../../models")
	h, err := NewHeads(d, "../../testdata/face/astronaut.png", eng)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	clock := time.Unix(0, 0)
	h.now = func() time.Time { return clock }
	yaw := func(doc, i int, move string) float64 {
		t.Helper()
		m, err := h.Frame(doc, i, move)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		a, err := eng.Analyze(m, false)
		if err != nil {
			t.Fatalf("frame %d (%s): %v", i, move, err)
		}
		return a.Quality.Yaw
	}
	steps := []struct {
		after    time.Duration
		move     string
		min, max float64 // the estimated yaw, degrees
	}{
		{0, "", -5, 5},
		{100 * time.Millisecond, "move_turn_left", -5, 5}, // not yet reacted
		{400 * time.Millisecond, "move_turn_left", -5, 5},
		{400 * time.Millisecond, "move_turn_left", 15, 45}, // 0.8 s after the prompt
		{200 * time.Millisecond, "move_turn_left", 15, 45},
		{0, "move_done", 15, 45},
		{800 * time.Millisecond, "move_done", -5, 5},
	}
	for i, s := range steps {
		clock = clock.Add(s.after)
		if y := yaw(0, i, s.move); y < s.min || y > s.max {
			t.Errorf("frame %d (%s, %v in): yaw %.1f, want %.0f to %.0f", i, s.move, clock.Sub(time.Unix(0, 0)), y, s.min, s.max)
		}
	}
	holder, err := h.Frame(0, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	print, err := h.Frame(len(d.Docs)-1, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	defer print.Close()
	if print.Rows() != holder.Rows() || print.Cols() != holder.Cols() {
		t.Fatalf("the print is %dx%d, the head %dx%d", print.Cols(), print.Rows(), holder.Cols(), holder.Rows())
	}
	if string(holder.ToBytes()) == string(print.ToBytes()) {
		t.Error("the photo-attack document shows the holder's head, not the print")
	}
}
