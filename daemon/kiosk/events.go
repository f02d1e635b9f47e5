package kiosk

import (
	"sync"
	"time"
)

// Event is one step of a check as the screen and the attendant view see it: no image and no
// document number, ever.
type Event struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	CheckID  string    `json:"check_id,omitempty"`
	Flow     string    `json:"flow,omitempty"`
	Stage    Stage     `json:"stage"`
	Outcome  Outcome   `json:"outcome,omitempty"` // set on the decision
	Reasons  []string  `json:"reasons,omitempty"`
	Detail   string    `json:"detail,omitempty"` // e.g. the quality problem to show the person
	Distance float64   `json:"distance,omitempty"`
	Progress float64   `json:"progress,omitempty"`
	// StageMillis is set on decisions: how long each stage took.
	StageMillis map[Stage]float64 `json:"stage_ms,omitempty"`
}

// broadcaster fans events out to subscribers. A slow subscriber misses events rather than
// slowing the kiosk; it can always read the latest with current().
type broadcaster struct {
	mu     sync.Mutex
	seq    uint64
	last   Event
	recent []Event // the last decisions, newest last
	subs   map[chan Event]struct{}
}

const keepRecent = 50

func newBroadcaster() *broadcaster {
	return &broadcaster{subs: map[chan Event]struct{}{}, last: Event{Stage: StageIdle, Time: time.Now()}}
}

func (b *broadcaster) publish(e Event) Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	e.Seq = b.seq
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	b.last = e
	if e.Outcome != "" {
		b.recent = append(b.recent, e)
		if len(b.recent) > keepRecent {
			b.recent = b.recent[len(b.recent)-keepRecent:]
		}
	}
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
		}
	}
	return e
}

func (b *broadcaster) subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 32)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.subs[ch]; ok {
			delete(b.subs, ch)
			close(ch)
		}
	}
}

func (b *broadcaster) current() Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

func (b *broadcaster) decisions() []Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Event(nil), b.recent...)
}
