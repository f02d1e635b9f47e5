package fleet

import (
	"errors"
	"fmt"
	"slices"
	"strings"

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
