package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
)

// tesseractMRZ is the benchmark peer: Debian's tesseract CLI (Tesseract 5, eng) on the whole
// frame, one thread, with the MRZ alphabet as its whitelist. Its lines that form a TD1, TD2
// or TD3 and pass the same emrtd parser are its accepted read; otherwise it refused. It gets
// no help from our locating or check-digit correction: it is measured as shipped.
func tesseractMRZ(ctx context.Context, path string) (lines []string, accepted bool, err error) {
	cmd := exec.CommandContext(ctx, "tesseract", path, "stdout", "--psm", "6", "-l", "eng",
		"-c", "tessedit_char_whitelist=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<")
	cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, false, nil // counted as refused
		}
		return nil, false, fmt.Errorf("tesseract peer (Debian package tesseract-ocr): %w", err)
	}
	var cand []string
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.ReplaceAll(strings.TrimSpace(l), " ", "")
		if len(l) >= 28 {
			cand = append(cand, l)
		}
	}
	// Consecutive lines of one format, the last such block (the MRZ is at the bottom).
	var guess []string
	for i := len(cand) - 1; i >= 0; i-- {
		for _, n := range []int{3, 2} {
			if i+1-n < 0 {
				continue
			}
			blk := cand[i+1-n : i+1]
			if _, err := mrz.ParseMRZ(strings.Join(blk, "\n")); err == nil {
				return blk, true, nil
			}
			if guess == nil && sameLen(blk) {
				guess = blk
			}
		}
	}
	return guess, false, nil
}

func sameLen(b []string) bool {
	for _, l := range b {
		if len(l) != len(b[0]) {
			return false
		}
	}
	return true
}
