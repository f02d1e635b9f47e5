package testenv

import (
	"strings"
	"testing"
)

// recorder notes how Missing ended a test.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Fatalf(format string, a ...any)    { r.fatal = format }
func (r *recorder) Skip(a ...any)                     { r.skip = a[0].(string) }
func (r *recorder) Skipf(format string, a ...any)     { r.skip = format }
func (r *recorder) Errorf(format string, args ...any) {}

// TestMissingFailsInCI: what skips on a developer's machine fails when CI=true.
func TestMissingFailsInCI(t *testing.T) {
	t.Setenv("CI", "true")
	r := &recorder{TB: t}
	Missing(r, "mosquitto is not installed")
	if r.fatal == "" || r.skip != "" {
		t.Errorf("with CI=true: fatal %q, skip %q; want a failure", r.fatal, r.skip)
	}
	t.Setenv("CI", "")
	r = &recorder{TB: t}
	Missing(r, "mosquitto is not installed")
	if r.fatal != "" || !strings.Contains(r.skip, "mosquitto is not installed") {
		t.Errorf("without CI: fatal %q, skip %q; want a skip", r.fatal, r.skip)
	}
}
