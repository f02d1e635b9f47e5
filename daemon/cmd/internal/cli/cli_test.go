package cli

import (
	"bytes"
	"context"
	"flag"
	"strings"
	"testing"
)

func TestParseInterspersed(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	j := fs.Bool("json", false, "")
	n := fs.Int("n", 0, "")
	pos, err := ParseInterspersed(fs, []string{"a", "--json", "b", "-n", "3", "--", "-c"})
	if err != nil {
		t.Fatal(err)
	}
	if !*j || *n != 3 || strings.Join(pos, ",") != "a,b,-c" {
		t.Errorf("got json=%v n=%d pos=%q", *j, *n, pos)
	}
}

func TestApp(t *testing.T) {
	app := App{Name: "x", Commands: []Command{
		{Path: "face", Summary: "s", Run: func(context.Context, Env, []string) error { return nil }},
		{Path: "face compare", Summary: "s", Run: func(_ context.Context, _ Env, args []string) error {
			if len(args) == 0 {
				return Usagef("want files")
			}
			return &ExitStatus{Code: 1, Msg: "no match"}
		}},
	}}
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"face"}, 0, ""},
		{[]string{"face", "compare"}, 2, "x face compare: want files (see x face compare -h)"},
		{[]string{"face", "compare", "a"}, 1, "no match"},
		{[]string{"nope"}, 2, "unknown command"},
		{nil, 0, ""},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		if code := app.Run(context.Background(), tt.args, &out, &errOut); code != tt.code || !strings.Contains(errOut.String(), tt.stderr) {
			t.Errorf("%q: exit %d, stderr %q; want %d, %q", tt.args, code, errOut.String(), tt.code, tt.stderr)
		}
	}
	if c, rest := app.Lookup([]string{"face", "compare", "z"}); c == nil || c.Path != "face compare" || len(rest) != 1 {
		t.Errorf("Lookup prefers the longest path: %v %v", c, rest)
	}
}

// A group of commands ("face compare", "face eval") answers --help with its members
// (issue 15 item 16: it said "unknown command").
func TestGroupHelp(t *testing.T) {
	nop := func(context.Context, Env, []string) error { return nil }
	app := App{Name: "x", Commands: []Command{
		{Path: "face compare", Summary: "compare faces", Run: nop},
		{Path: "face eval", Summary: "evaluate", Run: nop},
		{Path: "trust import", Summary: "import", Run: nop},
	}}
	tests := []struct {
		args       []string
		code       int
		out, noOut string
		stderr     string
	}{
		{[]string{"face", "--help"}, 0, "face compare", "trust import", ""},
		{[]string{"face", "-h"}, 0, "face eval", "trust import", ""},
		{[]string{"trust", "help"}, 0, "trust import", "face", ""},
		{[]string{"face"}, 2, "", "", "missing subcommand"},
		{[]string{"face", "nope"}, 2, "", "", "unknown command"},
		{[]string{"--help"}, 0, "trust import", "", ""},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		code := app.Run(context.Background(), tt.args, &out, &errOut)
		if code != tt.code || !strings.Contains(out.String(), tt.out) || !strings.Contains(errOut.String(), tt.stderr) ||
			(tt.noOut != "" && strings.Contains(out.String(), tt.noOut)) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %d, stdout with %q without %q, stderr with %q",
				tt.args, code, out.String(), errOut.String(), tt.code, tt.out, tt.noOut, tt.stderr)
		}
	}
}
