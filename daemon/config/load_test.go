package config

import (
	"strings"
	"testing"
)

// The configuration goes through the bounded reader (issue 15 item 4).
func TestLoadRefusesDevices(t *testing.T) {
	if _, err := Load("/dev/zero"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Load(/dev/zero): %v", err)
	}
}
