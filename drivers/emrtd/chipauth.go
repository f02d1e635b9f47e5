package emrtd

import (
	"errors"
	"fmt"
)

// ChipAuthentication is the Chip Authentication variant and static chip key chosen from DG14.
type ChipAuthentication struct {
	// Info is the ChipAuthenticationInfo; when DG14 has none (CA version 1 chips), it is
	// synthesized as ECDH or DH with 3DES, as ICAO 9303-11 section 6.2 prescribes.
	Info ChipAuthenticationInfo
	Key  ChipAuthenticationPublicKeyInfo
}

// ChooseChipAuthentication picks the Chip Authentication protocol and matching public key
// from DG14's SecurityInfos: the first ChipAuthenticationInfo whose key agreement and key
// id match a usable ChipAuthenticationPublicKeyInfo. The ECDH key's point has been
// checked to lie on its curve by the parser.
func (s *SecurityInfos) ChooseChipAuthentication() (*ChipAuthentication, error) {
	if len(s.ChipAuthKeys) == 0 {
		return nil, errors.New("chip authentication: DG14 holds no ChipAuthenticationPublicKeyInfo")
	}
	keyAgreement := func(k *ChipAuthenticationPublicKeyInfo) string {
		if k.Protocol[len(k.Protocol)-1] == 2 {
			return "ECDH"
		}
		return "DH"
	}
	var reasons []error
	if len(s.ChipAuth) == 0 {
		for i := range s.ChipAuthKeys {
			k := &s.ChipAuthKeys[i]
			if k.PublicKey == nil {
				reasons = append(reasons, fmt.Errorf("key %d: %w", i+1, k.KeyErr))
				continue
			}
			ka := keyAgreement(k)
			return &ChipAuthentication{Info: ChipAuthenticationInfo{Version: 1, KeyID: k.KeyID, KeyAgreement: ka, Cipher: "3DES", KeyBits: 112}, Key: *k}, nil
		}
		return nil, fmt.Errorf("chip authentication: no usable key: %w", errors.Join(reasons...))
	}
	for _, info := range s.ChipAuth {
		for i := range s.ChipAuthKeys {
			k := &s.ChipAuthKeys[i]
			if keyAgreement(k) != info.KeyAgreement || (info.KeyID >= 0 && k.KeyID >= 0 && info.KeyID != k.KeyID) {
				continue
			}
			if k.PublicKey == nil {
				reasons = append(reasons, fmt.Errorf("key %d for %v: %w", i+1, info.Protocol, k.KeyErr))
				continue
			}
			return &ChipAuthentication{Info: info, Key: *k}, nil
		}
	}
	if len(reasons) == 0 {
		return nil, errors.New("chip authentication: no key matches the announced protocols")
	}
	return nil, fmt.Errorf("chip authentication: no usable key: %w", errors.Join(reasons...))
}
