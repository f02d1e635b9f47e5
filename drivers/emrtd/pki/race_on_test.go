//go:build race

package pki

// raceEnabled lets slow exhaustive tests sample under the race detector, which makes
// math/big arithmetic about ten times slower.
const raceEnabled = true
