package kiosk

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"
)

// KeyPad is the screen's keypad as a KeySource: the web page submits what the person typed,
// the check in progress takes it. A key is accepted only while a check is waiting for one and
// is dropped when that check stops waiting: a key typed while the kiosk is idle (or planted
// by someone else) must never be used against the next person's chip.
type KeyPad struct {
	mu      sync.Mutex
	waiting chan AccessKey // non-nil while a check waits; holds at most one key
	asked   chan struct{}  // the person asked for the keypad (AskKeypad); capacity 1
}

// NewKeyPad returns an empty keypad.
func NewKeyPad() *KeyPad { return &KeyPad{asked: make(chan struct{}, 1)} }

// ErrNotWaiting is returned by Submit when no check is waiting for a key.
var ErrNotWaiting = errors.New("no check is waiting for an access key")

var (
	canPattern = regexp.MustCompile(`^[0-9]{6}$`)
	docPattern = regexp.MustCompile(`^[A-Z0-9<]{1,22}$`)
)

// ErrKeyFormat is returned for an access key that cannot be right.
var ErrKeyFormat = errors.New("access key format")

// ValidateAccessKey checks the shape of a key: a 6-digit CAN, or a document number with
// birth and expiry dates as YYMMDD.
func ValidateAccessKey(k AccessKey) error {
	if k.CAN != "" {
		if !canPattern.MatchString(k.CAN) {
			return fmt.Errorf("%w: the CAN is 6 digits", ErrKeyFormat)
		}
		return nil
	}
	if !docPattern.MatchString(k.DocumentNumber) {
		return fmt.Errorf("%w: the document number is 1 to 22 letters and digits", ErrKeyFormat)
	}
	for _, d := range []struct{ name, v string }{{"birth", k.DateOfBirth}, {"expiry", k.DateOfExpiry}} {
		if _, err := time.Parse("060102", d.v); err != nil {
			return fmt.Errorf("%w: the date of %s is YYMMDD", ErrKeyFormat, d.name)
		}
	}
	return nil
}

// Submit hands a key to the check waiting for one; a key it has not taken yet is replaced
// by the newer one. With no check waiting it returns ErrNotWaiting and keeps nothing.
func (p *KeyPad) Submit(k AccessKey) error {
	if err := ValidateAccessKey(k); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waiting == nil {
		return ErrNotWaiting
	}
	select {
	case <-p.waiting: // drop the older key
	default:
	}
	p.waiting <- k // cannot block: capacity 1, emptied above, under the lock
	return nil
}

// AccessKey waits for a key submitted from now on, until ctx ends. Only one check may wait
// at a time.
func (p *KeyPad) AccessKey(ctx context.Context) (AccessKey, error) {
	ch := make(chan AccessKey, 1)
	p.mu.Lock()
	if p.waiting != nil {
		p.mu.Unlock()
		return AccessKey{}, errors.New("keypad: another check is already waiting for a key")
	}
	p.waiting = ch
	p.drainAsked() // a request made before this check is not this person's
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.waiting = nil // a key submitted but not taken goes with it
		p.drainAsked()
		p.mu.Unlock()
	}()
	select {
	case k := <-ch:
		k.Source, k.IssuingState = KeyFromKeypad, ""
		return k, nil
	case <-ctx.Done():
		return AccessKey{}, ctx.Err()
	}
}

func (p *KeyPad) drainAsked() {
	select {
	case <-p.asked:
	default:
	}
}

// AskKeypad tells the check waiting for a key that the person wants to type it rather than
// show the document to the camera. With no check waiting it returns ErrNotWaiting.
func (p *KeyPad) AskKeypad() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waiting == nil {
		return ErrNotWaiting
	}
	select {
	case p.asked <- struct{}{}:
	default: // asked already
	}
	return nil
}

// Asked is signalled when the person asks for the keypad while a check waits for a key (a
// camera key source gives up the camera then). Only the waiting check's requests arrive.
func (p *KeyPad) Asked() <-chan struct{} { return p.asked }

// Waiting reports whether a check is waiting for a key, that is whether Submit would be taken.
func (p *KeyPad) Waiting() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waiting != nil
}

// FixedKey is a KeySource that always gives the same key (simulation and fixed-document kiosks).
type FixedKey AccessKey

// AccessKey returns the key.
func (f FixedKey) AccessKey(context.Context) (AccessKey, error) { return AccessKey(f), nil }
