package kiosk

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitFor starts a check waiting for a key and returns where its key arrives.
func waitFor(t *testing.T, p *KeyPad, ctx context.Context) <-chan AccessKey {
	t.Helper()
	out := make(chan AccessKey, 1)
	go func() {
		k, _ := p.AccessKey(ctx)
		out <- k
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if p.Waiting() {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatal("the check never started waiting")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestKeyPad(t *testing.T) {
	p := NewKeyPad()
	bad := []AccessKey{
		{CAN: "12345"},
		{CAN: "12345a"},
		{DocumentNumber: "c01x00t47", DateOfBirth: "640812", DateOfExpiry: "321031"},
		{DocumentNumber: "C01X00T47", DateOfBirth: "641312", DateOfExpiry: "321031"},
		{DocumentNumber: "", DateOfBirth: "640812", DateOfExpiry: "321031"},
	}
	for _, k := range bad {
		if err := p.Submit(k); !errors.Is(err, ErrKeyFormat) {
			t.Errorf("Submit(%+v): %v, want ErrKeyFormat", k, err)
		}
	}
	first := AccessKey{CAN: "123456", Source: KeyFromKeypad}

	// A check waiting: the key reaches it, marked as typed whatever the submitter said.
	got := waitFor(t, p, context.Background())
	if err := p.Submit(AccessKey{CAN: "123456", Source: KeyFromCamera, IssuingState: "UTO"}); err != nil {
		t.Fatal(err)
	}
	if k := <-got; k != first {
		t.Errorf("AccessKey = %+v, want %+v", k, first)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := p.AccessKey(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("empty keypad: %v", err)
	}
}

// A key typed while no check waits was held for the next check, which used it against the
// next person's chip (issue 15 item 10). Now it is refused, and a key the check did not take
// before it ended is dropped.
func TestKeyPadHoldsNoKeyBetweenChecks(t *testing.T) {
	p := NewKeyPad()
	planted := AccessKey{CAN: "111111"}
	if err := p.Submit(planted); !errors.Is(err, ErrNotWaiting) {
		t.Fatalf("Submit while idle: %v, want ErrNotWaiting", err)
	}
	// A check that ends (timeout) with a key it never took: the key must not survive it.
	ctx, cancel := context.WithCancel(context.Background())
	got := waitFor(t, p, ctx)
	cancel()
	<-got
	if err := p.Submit(planted); !errors.Is(err, ErrNotWaiting) {
		t.Fatalf("Submit after the check ended: %v, want ErrNotWaiting", err)
	}
	mine := AccessKey{CAN: "222222", Source: KeyFromKeypad}
	got = waitFor(t, p, context.Background())
	if err := p.Submit(mine); err != nil {
		t.Fatal(err)
	}
	if k := <-got; k != mine {
		t.Errorf("the next check got %+v, want its own key %+v", k, mine)
	}
}
