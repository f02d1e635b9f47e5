// Package emrtd reads electronic travel documents (ICAO Doc 9303 parts 10-12) from their chip:
// access control (BAC, PACE, PACE-CAM), secure messaging, reading the files, and Chip and Active
// Authentication on the chip; Read is the front door. It talks to a chip through any Transceiver
// and imports nothing from daemon/. The parts without I/O are packages of their own, below it:
//
//	tlv      BER-TLV
//	asn1der  DER primitives and OIDs
//	mrz      machine readable zone, access keys
//	pki      certificates, CRLs, CMS, keys, signatures, the CSCA trust store
//	lds      EF.COM, data groups, EF.SOD, the Files of a document and dump folders
//	pa       Passive Authentication, Card Security and the Active Authentication signature
//	emrtdsim a virtual chip and a document generator (the simulation and tests)
package emrtd

import "context"

// Transceiver exchanges one ISO 7816-4 APDU with a contactless chip (ISO 14443-4).
// The response includes the status word SW1 SW2. NFC readers and the virtual chip implement it.
type Transceiver interface {
	Transceive(ctx context.Context, command []byte) (response []byte, err error)
}
