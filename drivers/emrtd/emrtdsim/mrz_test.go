package emrtdsim

import (
	"testing"

	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
)

func TestTD3(t *testing.T) {
	// The ICAO 9303 part 4 specimen's fields (without its optional data); ParseMRZ checks
	// every check digit, the composite one included.
	got, err := TD3(Holder{IssuingState: "UTO", Surname: "ERIKSSON", GivenNames: "ANNA MARIA", DocumentNumber: "L898902C3",
		Nationality: "UTO", DateOfBirth: "740812", Sex: "F", DateOfExpiry: "120415"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159<<<<<<<<<<<<<<"; got[:len(want)] != want || len(got) != 89 {
		t.Errorf("got\n%s", got)
	}
	m, err := mrz.ParseMRZ(got)
	if err != nil || m.DocumentNumber != "L898902C3" || m.DateOfExpiry != "120415" || m.PrimaryID != "ERIKSSON" {
		t.Errorf("ParseMRZ: %+v, %v", m, err)
	}
	if _, err := TD3(Holder{DocumentNumber: "1234567890", DateOfBirth: "740812", DateOfExpiry: "120415"}); err == nil {
		t.Error("a 10-character document number accepted")
	}
}
