package emrtd

import (
	"errors"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/drivers/emrtd/internal/sm"
	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/internal/sharedtest"
)

// TestChooseCA: the one Chip Authentication selection (the reader's) on a real DG14, on a
// version 1 DG14 without ChipAuthenticationInfo (3DES implied), and on unusable keys.
func TestChooseCA(t *testing.T) {
	s, err := lds.ParseSecurityInfos(sharedtest.Read(t, "emrtd-samples/DE_ETSI_TR103200_EACAA", "DG14.bin"))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := chooseCAFrom(s)
	if err != nil {
		t.Fatal(err)
	}
	if ch.cipher != sm.TDES || ch.name != "id-CA-ECDH-3DES-CBC-CBC" || ch.curve == nil {
		t.Errorf("got %s cipher %v", ch.name, ch.cipher)
	}
	// Without ChipAuthenticationInfo, version 1 with 3DES is implied.
	s.ChipAuth = nil
	if ch, err := chooseCAFrom(s); err != nil || ch.cipher != sm.TDES || ch.name != "id-CA-ECDH-3DES-CBC-CBC" {
		t.Errorf("implied CA v1: got %s %v, %v", ch.name, ch.cipher, err)
	}
	if _, err := chooseCAFrom(&lds.SecurityInfos{}); err == nil {
		t.Error("no key: got no error")
	}
	s.ChipAuthKeys[0].PublicKey, s.ChipAuthKeys[0].KeyErr = nil, errors.New("DH keys are not supported")
	if _, err := chooseCAFrom(s); err == nil || !strings.Contains(err.Error(), "DH keys") {
		t.Errorf("unusable key: got %v", err)
	}
}
