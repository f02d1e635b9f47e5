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
	"syscall"

	"github.com/edgeid/edgeid/daemon/cmd/internal/cli"
	"github.com/edgeid/edgeid/daemon/face"
)

// version is set at link time by the Makefile (-X main.version=...).
var version = "dev"

func main() {
	// OpenCV's own pixel limit, a wall behind the image probe; it may re-execute the binary.
	if err := face.EnsureDecoderLimit(); err != nil {
		fmt.Fprintf(os.Stderr, "edgeid: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signalContext(context.Background(), os.Stderr, os.Exit)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errInterrupted is the cause of the context's end when a signal arrived.
var errInterrupted = errors.New("interrupted")

// signalContext ends ctx at the first SIGINT or SIGTERM, so that commands stop between items
// (and the daemon shuts down in order); a second signal calls exit(128+signal) at once, for a
// command stuck in work it cannot interrupt, such as a decode inside OpenCV.
func signalContext(parent context.Context, stderr io.Writer, exit func(int)) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			fmt.Fprintf(stderr, "edgeid: %v: stopping (again to stop at once)\n", s)
			cancel(fmt.Errorf("%w by %v", errInterrupted, s))
		case <-done:
			return
		}
		select {
		case s := <-sigs:
			n := 2
			if sig, ok := s.(syscall.Signal); ok {
				n = int(sig)
			}
			exit(128 + n)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel(nil)
	}
}

// stopped returns why ctx ended (the signal), or nil while it runs: long loops call it
// between items.
func stopped(ctx context.Context) error {
	if ctx.Err() == nil {
		return nil
	}
	return context.Cause(ctx)
}

// env is what every subcommand gets besides its arguments.
type env = cli.Env

// commands lists every subcommand; files add theirs here.
func commands() []cli.Command {
	cmds := []cli.Command{
		{Path: "version", Summary: "print the version", Run: runVersion},
		{Path: "run", Summary: "run the kiosk daemon (default: simulation on embedded defaults)", Run: runRun},
		{Path: "face compare", Summary: "compare the faces in two images (1:1)", Run: runFaceCompare},
		{Path: "face eval", Summary: "score every pair of a folder-per-identity set; ROC, EER", Run: runFaceEval},
		{Path: "face pad-eval", Summary: "presentation-attack evaluation: APCER per attack, BPCER on genuine pose changes", Run: runFacePadEval},
		{Path: "face template", Summary: "write the template of the face in an image, for enrolment", Run: runFaceTemplate},
		{Path: "face detect", Summary: "list the faces found in images, with quality measures", Run: runFaceDetect},
		{Path: "doctor", Summary: "check NFC readers and say what is wrong", Run: runDoctor},
		{Path: "nfc smoke", Summary: "short PN532 session on real hardware, optionally recorded", Run: runNFCSmoke},
		{Path: "doc read", Summary: "read a document's chip (PACE or BAC, secure messaging)", Run: runDocRead},
		{Path: "doc verify", Summary: "Passive Authentication of a document dump folder", Run: runDocVerify},
		{Path: "trust import", Summary: "add CSCA certificates, master lists or CRLs to the trust store", Run: runTrustImport},
		{Path: "trust list", Summary: "list the trusted CSCA certificates", Run: runTrustList},
		{Path: "mrz read", Summary: "read the MRZ of documents in images", Run: runMRZRead},
		{Path: "mrz eval", Summary: "MRZ reading over a folder with truth.tsv: right, refused, wrong-but-accepted", Run: runMRZEval},
		{Path: "enroll delete", Summary: "erase an enrolled identity's templates from the local store", Run: runEnrollDelete},
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Path < cmds[j].Path })
	return cmds
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cli.App{Name: "edgeid", Commands: commands()}.Run(ctx, args, stdout, stderr)
}

// newFlags makes the FlagSet of an edgeid subcommand.
func newFlags(e env, path, argsUsage string) *flag.FlagSet {
	return cli.NewFlags(e, "edgeid", path, argsUsage)
}

func runVersion(_ context.Context, e env, args []string) error {
	if len(args) > 0 {
		return cli.Usagef("version takes no arguments")
	}
	_, err := fmt.Fprintf(e.Stdout, "edgeid %s\n", version)
	return err
}
