package pa_test

import (
	"fmt"
	"time"

	"github.com/edgeid/edgeid/drivers/emrtd/emrtdsim"
	"github.com/edgeid/edgeid/drivers/emrtd/pa"
)

// Passive Authentication of a generated test document against the CSCA that issued it,
// then of the same document with DG1 altered after signing.
func ExamplePassiveAuthentication() {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	mrz := "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<" + "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
	doc, err := emrtdsim.GenerateDocument(&emrtdsim.DocumentOpts{MRZ: mrz, Now: now, AAKey: emrtdsim.AANone})
	if err != nil {
		fmt.Println(err)
		return
	}
	r := pa.PassiveAuthentication(doc.Files, &pa.PAOpts{Trust: doc.Trust, At: now})
	fmt.Println("genuine:", r.Passed())

	doc.Files["DG1"][10] ^= 1
	r = pa.PassiveAuthentication(doc.Files, &pa.PAOpts{Trust: doc.Trust, At: now})
	c, _ := r.FirstFailure()
	fmt.Println("altered:", r.Passed(), c.Name, c.Status)
	// Output:
	// genuine: true
	// altered: false dg-hash DG1 fail
}
