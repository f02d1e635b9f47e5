//go:build !race

package emrtd

const raceEnabled = false
