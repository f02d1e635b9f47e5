package fleettest

import (
	"path/filepath"
	"strings"
	"testing"
)

var moved = map[string]string{"listener": "1 127.0.0.1", "cafile": "/t/ca", "certfile": "/t/c", "keyfile": "/t/k", "acl_file": "/t/acl"}

// The shipped files install; their production paths, port and fleet name do not survive.
func TestShippedFilesInstall(t *testing.T) {
	d := shippedDir(t)
	conf, err := shippedConf(readFile(t, filepath.Join(d, "mosquitto.conf")), moved)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"/etc/", "8883"} {
		for _, l := range strings.Split(conf, "\n") {
			if !strings.HasPrefix(l, "#") && strings.Contains(l, bad) {
				t.Errorf("installed conf keeps %q: %s", bad, l)
			}
		}
	}
	acl, err := shippedACL(readFile(t, filepath.Join(d, "acl")), "f9", []string{"collector", "collector-z"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(acl, "fleet1") {
		t.Errorf("installed acl keeps fleet1:\n%s", acl)
	}
	for _, want := range []string{"user collector-z\ntopic read edgeid/v1/f9/audit/+\n", "pattern write edgeid/v1/f9/audit/%u\n"} {
		if !strings.Contains(acl, want) {
			t.Errorf("installed acl lacks %q:\n%s", want, acl)
		}
	}
	if strings.Count(acl, "user collector\n") != 1 {
		t.Errorf("collector, which has a shipped block, got another:\n%s", acl)
	}
}

// A shipped file whose shape changed fails the install instead of being half substituted.
func TestShippedShapeChanged(t *testing.T) {
	base := "listener 8883\ncafile /e/ca\ncertfile /e/c\nkeyfile /e/k\nacl_file /e/acl\n"
	if _, err := shippedConf(base, moved); err != nil {
		t.Fatalf("base conf: %v", err)
	}
	for name, conf := range map[string]string{
		"second listener":   base + "listener 9001\n",
		"no acl_file":       strings.Replace(base, "acl_file /e/acl\n", "", 1),
		"unmoved path":      base + "crlfile /etc/mosquitto/crl.pem\n",
		"renamed directive": strings.Replace(base, "keyfile", "key_file", 1),
	} {
		if _, err := shippedConf(conf, moved); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	acl := "user collector\ntopic read edgeid/v1/fleet1/audit/+\npattern write edgeid/v1/fleet1/audit/%u\n"
	if _, err := shippedACL(acl, "f", []string{"c2"}); err != nil {
		t.Fatalf("base acl: %v", err)
	}
	for name, a := range map[string]string{
		"other root":   acl + "pattern read edgeid/v2/fleet1/x\n",
		"other fleet":  strings.ReplaceAll(acl, "fleet1", "myfleet"),
		"unknown line": acl + "topic\n",
		"no collector": strings.Replace(acl, "user collector", "user coll", 1),
	} {
		if _, err := shippedACL(a, "f", []string{"c2"}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
