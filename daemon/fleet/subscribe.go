package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// ErrSubscribeRefused means the broker answered a subscription with the failure code 0x80 in
// its SUBACK: mosquitto when the ACL denies the filter, NATS also when JetStream cannot create
// the subscription's consumer in time (a busy or leaderless cluster). paho completes such a
// token without an error, so a client that does not look at every granted QoS runs on
// without the subscription.
var ErrSubscribeRefused = errors.New("subscription refused by the broker")

// Granted checks a completed subscribe token: its error, then the granted QoS of every
// filter. It names the refused filters.
func Granted(t mqtt.Token) error {
	if err := t.Error(); err != nil {
		return err
	}
	st, ok := t.(*mqtt.SubscribeToken)
	if !ok {
		return nil
	}
	return refused(st.Result())
}

func refused(granted map[string]byte) error {
	var bad []string
	for f, q := range granted {
		if q > 2 {
			bad = append(bad, f)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	return fmt.Errorf("fleet: the broker refused the subscription to %s: %w", strings.Join(bad, ", "), ErrSubscribeRefused)
}

// keepGranted waits for the subscribe token tok of filters and, while live reports that the
// connection it was made on is still the current one, subscribes again every filter the broker
// refused (or left unanswered for 30 s), backing off from 500 ms to 5 s. It returns true once
// every filter is granted, false when the connection or ctx ended first. It is what a client
// runs after subscribing from paho's connect handler, in a goroutine of its own.
func keepGranted(ctx context.Context, cl mqtt.Client, tok mqtt.Token, filters map[string]byte, cb mqtt.MessageHandler, live func() bool, log *slog.Logger) bool {
	wait := 500 * time.Millisecond
	for {
		var err error
		retry := filters
		select {
		case <-tok.Done():
			if err = Granted(tok); err == nil {
				return true
			}
			if st, ok := tok.(*mqtt.SubscribeToken); ok && tok.Error() == nil {
				retry = map[string]byte{}
				for f, q := range filters {
					if g, ok := st.Result()[f]; !ok || g > 2 {
						retry[f] = q
					}
				}
			}
		case <-time.After(30 * time.Second):
			err = errors.New("no SUBACK within 30 s")
		case <-ctx.Done():
			return false
		}
		if !live() {
			return false
		}
		log.Warn("fleet: subscription not granted; subscribing again", "err", err, "in", wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return false
		}
		if !live() {
			return false
		}
		wait = min(2*wait, 5*time.Second)
		tok = cl.SubscribeMultiple(retry, cb)
	}
}
