//go:build nosim

package node

import (
	"context"
	"errors"

	"github.com/edgeid/edgeid/daemon/kiosk"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
	"golang.org/x/sync/errgroup"
)

// A kiosk build (-tags nosim) has no simulation: no demo passports, no passport generator, no
// demo camera or back end. A configuration that asks for them is refused at start.

var errNoSimulation = errors.New(`this edgeid is built without the simulation (-tags nosim): reader "sim" and camera "demo" need the development build (make run)`)

type simulation struct{}

func simulationMissing() error { return errNoSimulation }

func (n *Node) openDemoReader(context.Context) (*pki.TrustStore, kiosk.KeySource, error) {
	return nil, nil, errNoSimulation
}

func (n *Node) openDemoCamera() (nodeCamera, error) { return nil, errNoSimulation }

func (n *Node) runDemo(context.Context, *errgroup.Group) {}
