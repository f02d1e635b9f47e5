package kiosk

import (
	"context"
	"errors"
	"testing"
	"time"
)

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
	first := AccessKey{CAN: "123456"}
	second := AccessKey{DocumentNumber: "C01X00T47", DateOfBirth: "640812", DateOfExpiry: "321031"}
	if err := p.Submit(first); err != nil {
		t.Fatal(err)
	}
	if err := p.Submit(second); err != nil {
		t.Fatal(err)
	}
	got, err := p.AccessKey(context.Background())
	if err != nil || got != second {
		t.Errorf("AccessKey = %+v, %v; want the newer key", got, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := p.AccessKey(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("empty keypad: %v", err)
	}
}
