package emrtd

import (
	"testing"
	"time"
)

func TestDecodeTime(t *testing.T) {
	tests := []struct {
		tag  Tag
		in   string
		want string
	}{
		{tagUTCTime, "260601120000Z", "2026-06-01T12:00:00Z"},
		{tagUTCTime, "2606011200Z", "2026-06-01T12:00:00Z"},
		{tagUTCTime, "991231235959Z", "1999-12-31T23:59:59Z"},
		{tagGenTime, "20260601120000Z", "2026-06-01T12:00:00Z"},
		{tagGenTime, "20260601120000.5Z", "2026-06-01T12:00:00.5Z"},
		{tagGenTime, "202606011200Z", "2026-06-01T12:00:00Z"},
	}
	for _, tt := range tests {
		tlv := TLV{Tag: tt.tag, Value: []byte(tt.in)}
		got, err := decodeTime(&tlv, "time")
		if err != nil || got.Format(time.RFC3339Nano) != tt.want {
			t.Errorf("decodeTime(%s): got %v, %v; want %s", tt.in, got.Format(time.RFC3339Nano), err, tt.want)
		}
	}
	for _, bad := range []string{"", "2606", "20261301120000Z", "yesterday"} {
		tlv := TLV{Tag: tagGenTime, Value: []byte(bad)}
		if _, err := decodeTime(&tlv, "time"); err == nil {
			t.Errorf("decodeTime(%q): got no error", bad)
		}
	}
}
