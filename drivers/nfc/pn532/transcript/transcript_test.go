package transcript

import (
	"strings"
	"testing"
)

func TestParseTranscript(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{`{"comment":"x","bus":"i2c","ops":[{"addr":36,"w":"0000ff"},{"addr":36,"r":"01"}]}`, ""},
		{`{"comment":"x","ops":[{"addr":36,"r":"01"}]}`, ""},
		{`{"comment":"x","bus":"spi","ops":[{"w":"80","r":"00"}]}`, ""},
		{`{"comment":"x","bus":"uart","ops":[]}`, "unknown bus"},
		{`{"comment":"x","ops":[{"addr":36,"w":"0g"}]}`, "op 0: w"},
		{`{"comment":"x","ops":[],"extra":1}`, "unknown field"},
		{`[]`, "cannot unmarshal"},
	}
	for _, tc := range tests {
		_, err := Parse([]byte(tc.in))
		if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("Parse(%s) = %v, want error containing %q", tc.in, err, tc.wantErr)
		}
	}
}

func FuzzParseTranscript(f *testing.F) {
	f.Add([]byte(`{"comment":"x","bus":"i2c","ops":[{"addr":36,"w":"0000ff"},{"addr":36,"r":"01"}]}`))
	f.Add([]byte(`{"comment":"x","bus":"spi","ops":[{"w":"80","r":"00"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := Parse(b)
		if err != nil {
			return
		}
		if _, err := tr.Decode(); err != nil {
			t.Fatalf("parsed transcript does not decode: %v", err)
		}
	})
}
