package pa

import (
	"strings"
	"testing"

	"github.com/edgeid/edgeid/drivers/emrtd/lds"
)

// The report names the check; its reason must not repeat "sod:" (issue 15 item 16).
func TestSODParseReasonHasNoRepeatedPrefix(t *testing.T) {
	r := PassiveAuthentication(lds.Files{"EF.SOD": {0x77, 0x05, 1}}, &PAOpts{})
	for _, c := range r.Checks {
		if c.Name == CheckSODParse {
			if c.Status != StatusFail || strings.HasPrefix(c.Reason, "sod:") || !strings.Contains(c.Reason, "tlv") {
				t.Errorf("sod check: %s %q, want a failure whose reason does not start with the check's name", c.Status, c.Reason)
			}
			return
		}
	}
	t.Fatal("no sod check in the report")
}
