// Package kiosk is the check-in state machine: a document is presented, its chip is read and
// authenticated, revocations are checked, the live face is captured and matched against the
// chip photo, and the kiosk decides, drives its outputs and writes an audit record. It defines
// the small interfaces it consumes; the binary wires the real readers, camera, store and fleet
// into them. Images and chip data live in memory for the length of one check only.
package kiosk

import (
	"context"
	"time"

	"github.com/edgeid/edgeid/daemon/match"
	"github.com/edgeid/edgeid/drivers/nfc"
	"gocv.io/x/gocv"
)

// Stage is where a check is.
type Stage string

// The stages, in order.
const (
	StageIdle       Stage = "idle"
	StageDocument   Stage = "document_presented"
	StageAccessKey  Stage = "access_key"
	StageReading    Stage = "reading_chip"
	StageRevocation Stage = "revocation_check"
	StageCapture    Stage = "face_capture"
	StageMatching   Stage = "matching"
	StageDecision   Stage = "decision"
	StageRemoveCard Stage = "remove_card"
)

// Outcome is how a check ended.
type Outcome string

const (
	Accepted Outcome = "accepted"
	Rejected Outcome = "rejected" // the document or the person did not pass
	Aborted  Outcome = "aborted"  // the check could not finish (card removed, timeout, fault)
)

// Reason codes, stable for audit records, metrics and the screen's texts.
const (
	ReasonCardRemoved       = "card_removed"
	ReasonTimeout           = "timeout"
	ReasonReaderError       = "reader_error"
	ReasonAccessDenied      = "access_denied" // BAC/PACE failed: wrong MRZ or CAN
	ReasonChipError         = "chip_error"
	ReasonPassiveAuth       = "passive_authentication_failed"
	ReasonActiveAuth        = "active_authentication_failed"
	ReasonChipAuth          = "chip_authentication_failed"
	ReasonDocumentExpired   = "document_expired"
	ReasonRevokedDocument   = "document_revoked"
	ReasonRevokedSigner     = "document_signer_revoked"
	ReasonRevocationsStale  = "revocation_list_stale"
	ReasonNoChipPhoto       = "no_chip_photo"
	ReasonCameraLost        = "camera_lost"
	ReasonNoFace            = "no_face"
	ReasonSeveralFaces      = "several_faces"
	ReasonPoorCapture       = "poor_capture"
	ReasonLiveness          = "presentation_attack_suspected"
	ReasonFaceMismatch      = "face_mismatch"
	ReasonInternal          = "internal_error"
	ReasonRevocationFailure = "revocation_check_failed"
	ReasonUnknownPerson     = "unknown_person"    // 1:N: nobody enrolled is close enough
	ReasonRevokedIdentity   = "identity_revoked"  // 1:N: the enrolled identity is revoked
	ReasonNoGallery         = "no_enrolled_faces" // 1:N: the gallery is empty
)

// Gallery gives the current 1:N gallery; match.Index satisfies it.
type Gallery interface {
	Snapshot() *match.Gallery
}

// Card is a document on the reader. nfc.Card satisfies it.
type Card interface {
	Transceive(ctx context.Context, command []byte) ([]byte, error)
	WaitRemoved(ctx context.Context) error
	Close(ctx context.Context) error
}

// Reader waits for documents. FromNFC adapts an nfc.Reader.
type Reader interface {
	WaitCard(ctx context.Context) (Card, error)
}

// FromNFC gives the kiosk an NFC reader's cards.
func FromNFC(r nfc.Reader) Reader { return nfcReader{r} }

type nfcReader struct{ r nfc.Reader }

func (a nfcReader) WaitCard(ctx context.Context) (Card, error) {
	c, err := a.r.WaitCard(ctx)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AccessKey opens the chip: the MRZ's document number, birth and expiry dates, or the CAN.
type AccessKey struct {
	DocumentNumber string
	DateOfBirth    string // YYMMDD
	DateOfExpiry   string // YYMMDD
	CAN            string
}

// KeySource supplies the access key for the document on the reader: the screen's keypad, or
// configuration in simulation.
type KeySource interface {
	AccessKey(ctx context.Context) (AccessKey, error)
}

// CheckStatus is the state of one authentication check.
type CheckStatus string

const (
	Pass          CheckStatus = "pass"
	Fail          CheckStatus = "fail"
	NotApplicable CheckStatus = "not_applicable"
)

// DocCheck is one authentication check of the document.
type DocCheck struct {
	Name   string // "passive_authentication", "active_authentication", "chip_authentication", ...
	Status CheckStatus
	Reason string
}

// Document is what the chip gave and what was proven about it.
type Document struct {
	IssuingState   string
	DocumentNumber string // memory only: audit records carry its keyed hash
	DateOfExpiry   time.Time
	Photo          []byte // the DG2 face image, JPEG or JPEG 2000
	Checks         []DocCheck
	// SignerIssuer (canonical name) and SignerSerial (big-endian bytes, no leading zeros)
	// identify the document signer certificate, for revocation.
	SignerIssuer string
	SignerSerial []byte
}

// DocumentReader reads and authenticates a document through an open card.
type DocumentReader interface {
	ReadDocument(ctx context.Context, card Card, key AccessKey) (*Document, error)
}

// AccessError is returned by a DocumentReader when the chip refused the access key.
type AccessError struct{ Err error }

func (e *AccessError) Error() string { return "access denied: " + e.Err.Error() }
func (e *AccessError) Unwrap() error { return e.Err }

// RevocationQuery names what may be revoked about a document or an enrolled identity.
type RevocationQuery struct {
	IssuingState   string
	DocumentNumber string
	SignerIssuer   string
	SignerSerial   []byte
	Identity       string // 1:N: the enrolled identity found
}

// RevocationResult is the answer of the local revocation list.
type RevocationResult struct {
	DocumentRevoked bool
	SignerRevoked   bool
	IdentityRevoked bool
	Stale           bool // the list is past its expiry
	Version         uint64
}

// Revocations checks the local revocation list (O(1), on every check).
type Revocations interface {
	Check(q RevocationQuery) (RevocationResult, error)
}

// Camera gives frames; the caller closes each. drivers/camera satisfies it.
type Camera interface {
	Read(ctx context.Context) (gocv.Mat, error)
}

// Signal is what the status LEDs show; it mirrors drivers/gpio.
type Signal int

const (
	SignalIdle Signal = iota
	SignalWorking
	SignalAccept
	SignalReject
	SignalFault
)

// Actuator drives the door relay, LEDs and buzzer.
type Actuator interface {
	Pulse(ctx context.Context) error
	Indicate(s Signal) error
	Beep(ctx context.Context, n int) error
}

// Record is a decision handed to the audit log. It never holds an image. DocumentNumber
// travels in memory only: the auditor keeps its keyed hash, never the number.
type Record struct {
	CheckID        string
	Time           time.Time
	Flow           string // "document" (1:1) or "enrolled" (1:N)
	Outcome        Outcome
	Reasons        []string
	DocumentNumber string
	IssuingState   string
	Identity       string  // 1:N: the enrolled identity matched
	FaceDistance   float64 // 0 when no match was attempted
	FaceThreshold  float64
	Checks         []DocCheck
	// Liveness holds the presentation-attack checks' scores, when they ran.
	Liveness    string
	StageMillis map[Stage]float64
}

// Auditor appends records durably; an error means the record was not kept.
type Auditor interface {
	Append(ctx context.Context, r Record) error
}
