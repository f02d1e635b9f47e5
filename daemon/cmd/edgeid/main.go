// Command edgeid is the identity-check kiosk daemon and the operator's tools that ship with it.
//
// Each subcommand lives in its own file and is listed in commands(). Exit status: 0 on success,
// 1 for a negative outcome that is not an error (for example "no match"), 2 for an error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// version is set at link time by the Makefile (-X main.version=...).
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is what every subcommand gets besides its arguments.
type env struct {
	stdout io.Writer
	stderr io.Writer
}

// command is one leaf of the command tree ("face compare", "version").
type command struct {
	path    string // words that select it, space separated
	summary string
	run     func(ctx context.Context, e env, args []string) error
}

// commands lists every subcommand; files add theirs here.
func commands() []command {
	cmds := []command{
		{path: "version", summary: "print the version", run: runVersion},
		{path: "run", summary: "run the kiosk daemon (default: simulation on embedded defaults)", run: runRun},
		{path: "face compare", summary: "compare the faces in two images (1:1)", run: runFaceCompare},
		{path: "face eval", summary: "score every pair of a folder-per-identity set; ROC, EER", run: runFaceEval},
		{path: "face pad-eval", summary: "presentation-attack evaluation: APCER per attack, BPCER on genuine pose changes", run: runFacePadEval},
		{path: "face template", summary: "write the template of the face in an image, for enrolment", run: runFaceTemplate},
		{path: "face detect", summary: "list the faces found in images, with quality measures", run: runFaceDetect},
		{path: "doctor", summary: "check NFC readers and say what is wrong", run: runDoctor},
		{path: "nfc smoke", summary: "short PN532 session on real hardware, optionally recorded", run: runNFCSmoke},
		{path: "doc read", summary: "read a document's chip (PACE or BAC, secure messaging)", run: runDocRead},
		{path: "doc verify", summary: "Passive Authentication of a document dump folder", run: runDocVerify},
		{path: "trust import", summary: "add CSCA certificates, master lists or CRLs to the trust store", run: runTrustImport},
		{path: "trust list", summary: "list the trusted CSCA certificates", run: runTrustList},
		{path: "enroll delete", summary: "erase an enrolled identity's templates from the local store", run: runEnrollDelete},
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].path < cmds[j].path })
	return cmds
}

// exitStatus is returned by a subcommand whose outcome is negative but not an error.
type exitStatus struct {
	code int
	msg  string
}

func (e *exitStatus) Error() string { return e.msg }

// usageError marks a mistake in the command line; run prints it with the usage text.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := env{stdout: stdout, stderr: stderr}
	cmd, rest := lookup(commands(), args)
	if cmd == nil {
		if len(args) > 0 && args[0] != "help" && args[0] != "-h" && args[0] != "--help" {
			fmt.Fprintf(stderr, "edgeid: unknown command %q\n\n", strings.Join(args, " "))
			printUsage(stderr, args)
			return 2
		}
		printUsage(stdout, nil)
		return 0
	}
	err := cmd.run(ctx, e, rest)
	var st *exitStatus
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &st):
		if st.msg != "" {
			fmt.Fprintln(stderr, st.msg)
		}
		return st.code
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "edgeid %s: %s (see edgeid %s -h)\n", cmd.path, ue.msg, cmd.path)
		return 2
	default:
		fmt.Fprintf(stderr, "edgeid %s: %v\n", cmd.path, err)
		return 2
	}
}

// lookup finds the longest command path that prefixes args.
func lookup(cmds []command, args []string) (*command, []string) {
	var best *command
	bestLen := 0
	for i := range cmds {
		words := strings.Fields(cmds[i].path)
		if len(words) > len(args) || len(words) <= bestLen {
			continue
		}
		if strings.Join(args[:len(words)], " ") == cmds[i].path {
			best, bestLen = &cmds[i], len(words)
		}
	}
	if best == nil {
		return nil, nil
	}
	return best, args[bestLen:]
}

func printUsage(w io.Writer, prefix []string) {
	fmt.Fprintln(w, "usage: edgeid <command> [flags] [args]")
	fmt.Fprintln(w, "\ncommands:")
	p := strings.Join(prefix, " ")
	for _, c := range commands() {
		if p == "" || strings.HasPrefix(c.path, strings.Fields(p)[0]) {
			fmt.Fprintf(w, "  %-16s %s\n", c.path, c.summary)
		}
	}
}

// parseInterspersed parses flags that may come before, between or after positional arguments,
// so that "edgeid face compare a.jpg b.jpg --json" works. Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var tail []string
	for i, a := range args {
		if a == "--" {
			args, tail = args[:i], args[i+1:]
			break
		}
	}
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return append(pos, tail...), nil
}

// newFlags makes a FlagSet that reports errors instead of exiting, with usage on e.stderr.
func newFlags(e env, path, argsUsage string) *flag.FlagSet {
	fs := flag.NewFlagSet("edgeid "+path, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: edgeid %s [flags] %s\n", path, argsUsage)
		fs.PrintDefaults()
	}
	return fs
}

func runVersion(_ context.Context, e env, args []string) error {
	if len(args) > 0 {
		return usagef("version takes no arguments")
	}
	_, err := fmt.Fprintf(e.stdout, "edgeid %s\n", version)
	return err
}
