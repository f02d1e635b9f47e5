// Package facetest gives tests the real face engine with the shipped models, as the kiosk runs
// it, built once per test binary (loading the models takes about a second).
package facetest

import (
	"sync"
	"testing"

	"github.com/edgeid/edgeid/daemon/face"
)

var (
	once      sync.Once
	engine    *face.Engine
	engineErr error
)

// Engine is the engine on the models in modelDir (the repository's models folder, relative to
// the test's package); every call of one test binary must name the same folder.
func Engine(t testing.TB, modelDir string) *face.Engine {
	t.Helper()
	once.Do(func() {
		o := face.DefaultOpts()
		o.ModelDir = modelDir
		engine, engineErr = face.New(&o)
	})
	if engineErr != nil {
		t.Fatal(engineErr)
	}
	return engine
}
