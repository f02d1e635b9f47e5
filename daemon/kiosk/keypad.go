package kiosk

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// KeyPad is the screen's keypad as a KeySource: the web page submits what the person typed,
// the check in progress takes it. A submission waits (one at a time) until a check asks.
type KeyPad struct {
	ch chan AccessKey
}

// NewKeyPad returns an empty keypad.
func NewKeyPad() *KeyPad { return &KeyPad{ch: make(chan AccessKey, 1)} }

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

// Submit offers a key; a key already waiting is replaced by the newer one.
func (p *KeyPad) Submit(k AccessKey) error {
	if err := ValidateAccessKey(k); err != nil {
		return err
	}
	for {
		select {
		case p.ch <- k:
			return nil
		default:
		}
		select {
		case <-p.ch: // drop the older key
		default:
		}
	}
}

// AccessKey waits for a submission.
func (p *KeyPad) AccessKey(ctx context.Context) (AccessKey, error) {
	select {
	case k := <-p.ch:
		return k, nil
	case <-ctx.Done():
		return AccessKey{}, ctx.Err()
	}
}

// FixedKey is a KeySource that always gives the same key (simulation and fixed-document kiosks).
type FixedKey AccessKey

// AccessKey returns the key.
func (f FixedKey) AccessKey(context.Context) (AccessKey, error) { return AccessKey(f), nil }
