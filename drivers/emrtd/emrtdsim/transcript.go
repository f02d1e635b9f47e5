package emrtdsim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/edgeid/edgeid/drivers/emrtd"
)

// Transcript is a recorded session between a reader and a chip: every command/response
// pair and the reader's random bytes, in order, so that a Read can be replayed exactly
// (in the spirit of periph's conntest Record/Playback).
type Transcript struct {
	Steps []Step
}

// Step is one recorded event: an APDU exchange, or random bytes the reader drew.
type Step struct {
	Command, Response []byte // an exchange
	Rand              []byte // or randomness (Command and Response nil)
}

// Record is a Transceiver that forwards to T and records every exchange. Wrap the reader's
// randomness with RecordRand so the transcript can be replayed.
type Record struct {
	T  emrtd.Transceiver
	mu sync.Mutex
	tr Transcript
}

// Transceive forwards cmd and records the exchange.
func (r *Record) Transceive(ctx context.Context, cmd []byte) ([]byte, error) {
	resp, err := r.T.Transceive(ctx, cmd)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.tr.Steps = append(r.tr.Steps, Step{Command: bytes.Clone(cmd), Response: bytes.Clone(resp)})
	r.mu.Unlock()
	return resp, nil
}

// RecordRand returns a reader that draws from src and records what it returns.
func (r *Record) RecordRand(src io.Reader) io.Reader { return &recordRand{r: r, src: src} }

type recordRand struct {
	r   *Record
	src io.Reader
}

func (x *recordRand) Read(p []byte) (int, error) {
	n, err := x.src.Read(p)
	if n > 0 {
		x.r.mu.Lock()
		x.r.tr.Steps = append(x.r.tr.Steps, Step{Rand: bytes.Clone(p[:n])})
		x.r.mu.Unlock()
	}
	return n, err
}

// Transcript returns what was recorded so far.
func (r *Record) Transcript() Transcript {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Transcript{Steps: append([]Step(nil), r.tr.Steps...)}
}

// Playback replays a transcript: it checks each command against the recording and
// answers with the recorded response. Rand returns the recorded random bytes. Any
// deviation is an error, never a panic.
type Playback struct {
	mu   sync.Mutex
	tr   Transcript
	next int
}

// NewPlayback replays tr.
func NewPlayback(tr Transcript) *Playback { return &Playback{tr: tr} }

// Transceive answers cmd if it is the next recorded command.
func (p *Playback) Transceive(_ context.Context, cmd []byte) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next >= len(p.tr.Steps) {
		return nil, fmt.Errorf("playback: command %X after the end of the transcript", cmd)
	}
	s := p.tr.Steps[p.next]
	if s.Command == nil {
		return nil, fmt.Errorf("playback: step %d: command %X where the transcript draws randomness", p.next+1, cmd)
	}
	if !bytes.Equal(s.Command, cmd) {
		return nil, fmt.Errorf("playback: step %d: command %X, transcript has %X", p.next+1, cmd, s.Command)
	}
	p.next++
	return bytes.Clone(s.Response), nil
}

// Rand returns a reader yielding the recorded random bytes at their place in the transcript.
func (p *Playback) Rand() io.Reader { return playbackRand{p} }

type playbackRand struct{ p *Playback }

func (x playbackRand) Read(b []byte) (int, error) {
	p := x.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next >= len(p.tr.Steps) || p.tr.Steps[p.next].Rand == nil {
		return 0, fmt.Errorf("playback: step %d: randomness drawn where the transcript has none", p.next+1)
	}
	r := p.tr.Steps[p.next].Rand
	if len(b) < len(r) {
		return 0, fmt.Errorf("playback: step %d: %d random bytes asked, transcript has %d", p.next+1, len(b), len(r))
	}
	p.next++
	return copy(b, r), nil
}

// Done reports whether the whole transcript was replayed.
func (p *Playback) Done() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next != len(p.tr.Steps) {
		return fmt.Errorf("playback: %d of %d steps replayed", p.next, len(p.tr.Steps))
	}
	return nil
}

// WriteTo writes the transcript as text: "> command", "< response" and "rand bytes" lines
// in hex, one event per line.
func (t Transcript) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	for _, s := range t.Steps {
		if s.Command == nil {
			fmt.Fprintf(&b, "rand %X\n", s.Rand)
			continue
		}
		fmt.Fprintf(&b, "> %X\n< %X\n", s.Command, s.Response)
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// Transcript limits: a transcript is test data, but it is still parsed as untrusted input.
const (
	maxTranscriptLine  = 2*70000 + 16
	maxTranscriptSteps = 100000
)

// ParseTranscript reads the text form written by WriteTo. Blank lines and lines starting
// with '#' are ignored.
func ParseTranscript(r io.Reader) (Transcript, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxTranscriptLine)
	var t Transcript
	var pending []byte // a command waiting for its response
	line := 0
	for sc.Scan() {
		line++
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		kind, hx, ok := strings.Cut(l, " ")
		if !ok {
			return Transcript{}, fmt.Errorf("transcript line %d: want \"> hex\", \"< hex\" or \"rand hex\"", line)
		}
		b, err := hex.DecodeString(strings.ReplaceAll(hx, " ", ""))
		if err != nil {
			return Transcript{}, fmt.Errorf("transcript line %d: %w", line, err)
		}
		switch kind {
		case ">":
			if pending != nil {
				return Transcript{}, fmt.Errorf("transcript line %d: command without a response before it", line)
			}
			if len(b) < 4 {
				return Transcript{}, fmt.Errorf("transcript line %d: command of %d bytes", line, len(b))
			}
			pending = b
		case "<":
			if pending == nil {
				return Transcript{}, fmt.Errorf("transcript line %d: response without a command", line)
			}
			if len(b) < 2 {
				return Transcript{}, fmt.Errorf("transcript line %d: response of %d bytes has no status word", line, len(b))
			}
			t.Steps = append(t.Steps, Step{Command: pending, Response: b})
			pending = nil
		case "rand":
			if pending != nil {
				return Transcript{}, fmt.Errorf("transcript line %d: randomness between a command and its response", line)
			}
			if len(b) == 0 {
				return Transcript{}, fmt.Errorf("transcript line %d: empty randomness", line)
			}
			t.Steps = append(t.Steps, Step{Rand: b})
		default:
			return Transcript{}, fmt.Errorf("transcript line %d: unknown kind %q", line, kind)
		}
		if len(t.Steps) > maxTranscriptSteps {
			return Transcript{}, fmt.Errorf("transcript: more than %d steps", maxTranscriptSteps)
		}
	}
	if err := sc.Err(); err != nil {
		return Transcript{}, fmt.Errorf("transcript line %d: %w", line+1, err)
	}
	if pending != nil {
		return Transcript{}, errors.New("transcript: last command has no response")
	}
	return t, nil
}
