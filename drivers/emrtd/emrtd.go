// Package emrtd reads and authenticates electronic travel documents (ICAO Doc 9303 parts 10-12):
// access control (BAC, PACE), secure messaging, the logical data structure, and Passive, Active
// and Chip Authentication. It talks to a chip through any Transceiver and imports nothing from daemon/.
package emrtd

import "context"

// Transceiver exchanges one ISO 7816-4 APDU with a contactless chip (ISO 14443-4).
// The response includes the status word SW1 SW2. NFC readers and the virtual chip implement it.
type Transceiver interface {
	Transceive(ctx context.Context, command []byte) (response []byte, err error)
}

// Files holds a document's raw elementary files keyed by their dump name: "EF.COM", "EF.SOD",
// "EF.CardAccess", "EF.CardSecurity", "DG1" ... "DG16". A dump folder holds the same names as files.
type Files map[string][]byte
