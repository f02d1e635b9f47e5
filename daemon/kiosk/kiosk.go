// Package kiosk is the check-in state machine: a document is presented, its chip is read and
// authenticated, revocations are checked, the live face is captured and matched against the
// chip photo, and the kiosk decides, drives its outputs and writes an audit record. It defines
// the small interfaces it consumes; the binary wires the real readers, camera, store and fleet
// into them. Images and chip data live in memory for the length of one check only.
package kiosk

import (
	"context"
	"time"

	"github.com/edgeid/edgeid/daemon/face"
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
	StageReferred   Stage = "referred" // the attendant is deciding
	StageDecision   Stage = "decision"
	StageRemoveCard Stage = "remove_card"
)

// Outcome is how a check ended.
type Outcome string

const (
	Accepted Outcome = "accepted"
	Rejected Outcome = "rejected" // the document or the person did not pass
	Aborted  Outcome = "aborted"  // the check could not finish (card removed, timeout, fault)
	// Referred: the face is neither close enough to accept nor far enough to reject; the
	// attendant decides. It is the outcome of the matcher, published while the attendant looks;
	// the check itself ends accepted, rejected or aborted, with the referral in its record.
	Referred Outcome = "referred"
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
	ReasonFaceUncertain     = "face_uncertain"   // referred to the attendant
	ReasonReferralDenied    = "referral_denied"  // the attendant refused the person
	ReasonReferralTimeout   = "referral_timeout" // nobody answered the referral in time
	ReasonInternal          = "internal_error"
	ReasonRevocationFailure = "revocation_check_failed"
	ReasonUnknownPerson     = "unknown_person"    // 1:N: nobody enrolled is close enough
	ReasonRevokedIdentity   = "identity_revoked"  // 1:N: the enrolled identity is revoked
	ReasonNoGallery         = "no_enrolled_faces" // 1:N: the gallery is empty
	// ReasonMRZChipMismatch: the MRZ the camera read and the chip's DG1 name another
	// document, holder or issuer (a page that is not the chip's).
	ReasonMRZChipMismatch = "mrz_chip_mismatch"
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
// Source says where it came from (KeyFromCamera, KeyFromKeypad, KeyFromSimulation); a key
// read by the camera also carries the issuing state printed in the MRZ, which the chip's DG1
// must repeat. It lives in memory for one check only.
type AccessKey struct {
	DocumentNumber string
	DateOfBirth    string // YYMMDD
	DateOfExpiry   string // YYMMDD
	CAN            string
	Source         string
	IssuingState   string // the camera's MRZ read only
}

// Where an access key came from (AccessKey.Source, Record.AccessKey).
const (
	KeyFromCamera     = "camera"     // the MRZ read from the document's page by the camera
	KeyFromKeypad     = "keypad"     // typed by the person on the screen
	KeyFromSimulation = "simulation" // typed by the simulation for the person
)

// KeySource supplies the access key for the document on the reader: the camera's MRZ read,
// the screen's keypad, or configuration in simulation.
type KeySource interface {
	AccessKey(ctx context.Context) (AccessKey, error)
}

// KeyProgress is told, as a key source that watches the camera goes, what to show the person:
// a Detail of the access-key stage (KeyShowDocument, KeyHoldStill, KeyRead, KeyKeypad) and a
// progress from 0 to 1. It may be called for every frame: the kiosk limits what it publishes.
type KeyProgress func(detail string, progress float64)

// ReportingKeySource is a KeySource that reports its progress for the screen.
type ReportingKeySource interface {
	KeySource
	AccessKeyReporting(ctx context.Context, report KeyProgress) (AccessKey, error)
}

// The details of StageAccessKey events while the camera reads the MRZ (the page's contract).
const (
	KeyShowDocument = "show_document"  // searching: no MRZ found in the picture yet
	KeyHoldStill    = "mrz_hold_still" // an MRZ zone is found, not yet read with every check digit
	KeyRead         = "mrz_read"       // read and accepted: the chip is opened with it
	KeyKeypad       = "keypad"         // the camera gave up or the person asked: type the key
)

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
	DateOfBirth    string // YYMMDD as in DG1; memory only, compared with the camera's MRZ read
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

// Faces is the face engine as the kiosk uses it; *face.Engine satisfies it. Compare is the
// decision distance between two templates, smaller is more alike.
type Faces interface {
	Detect(img gocv.Mat) ([]face.Face, error)
	Analyze(img gocv.Mat, enforce bool) (face.Analysis, error)
	Compare(a, b match.Template) (float64, error)
}

var _ Faces = (*face.Engine)(nil)

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
	// AccessKey is where the key that opened the chip came from (KeyFromCamera, ...), "" when
	// no key was given.
	AccessKey    string
	Identity     string  // 1:N: the enrolled identity matched
	FaceMatched  bool    // a face comparison was made and FaceDistance holds its result
	FaceDistance float64 // the combined (fused) distance the decision used: smaller is more alike
	FaceAccept   float64 // accepted at or below this distance
	FaceReject   float64 // rejected above this distance; referred between the two
	// FrameDistances are the distances of every frame scored, best-quality frame first.
	FrameDistances []float64
	// Referral is set when the check was referred to the attendant.
	Referral *Referral
	Checks   []DocCheck
	// Liveness holds the presentation-attack checks' scores, when they ran.
	Liveness    string
	StageMillis map[Stage]float64
}

// The ways a referral ends.
const (
	ReferralApproved    = "approved"
	ReferralDenied      = "denied"
	ReferralTimedOut    = "timeout"
	ReferralCardRemoved = "card_removed"
	ReferralCancelled   = "cancelled" // the kiosk stopped
)

// Referral is the attendant's part in a check: why it was referred, and who decided what, when.
type Referral struct {
	Reason   string    // face_uncertain
	Referred time.Time // when the kiosk asked
	Decision string    // one of the Referral* values
	By       string    // the attendant (token id or "attendant"); "kiosk" when nobody answered
	At       time.Time // when it was decided
}

// Auditor appends records durably; an error means the record was not kept.
type Auditor interface {
	Append(ctx context.Context, r Record) error
}
