package asn1der

import (
	"testing"
	"time"

	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
)

func TestDecodeTime(t *testing.T) {
	tests := []struct {
		tag  tlv.Tag
		in   string
		want string
	}{
		{TagUTCTime, "260601120000Z", "2026-06-01T12:00:00Z"},
		{TagUTCTime, "2606011200Z", "2026-06-01T12:00:00Z"},
		{TagUTCTime, "991231235959Z", "1999-12-31T23:59:59Z"},
		{TagGenTime, "20260601120000Z", "2026-06-01T12:00:00Z"},
		{TagGenTime, "20260601120000.5Z", "2026-06-01T12:00:00.5Z"},
		{TagGenTime, "202606011200Z", "2026-06-01T12:00:00Z"},
	}
	for _, tt := range tests {
		tlv := tlv.TLV{Tag: tt.tag, Value: []byte(tt.in)}
		got, err := DecodeTime(&tlv, "time")
		if err != nil || got.Format(time.RFC3339Nano) != tt.want {
			t.Errorf("decodeTime(%s): got %v, %v; want %s", tt.in, got.Format(time.RFC3339Nano), err, tt.want)
		}
	}
	for _, bad := range []string{"", "2606", "20261301120000Z", "yesterday"} {
		tlv := tlv.TLV{Tag: TagGenTime, Value: []byte(bad)}
		if _, err := DecodeTime(&tlv, "time"); err == nil {
			t.Errorf("decodeTime(%q): got no error", bad)
		}
	}
}
