package demo

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"time"

	"github.com/edgeid/edgeid/daemon/demo/headturn"
	"github.com/edgeid/edgeid/daemon/face"
	"gocv.io/x/gocv"
)

// Heads are the face frames of the simulation with the presentation-attack checks on: the
// holder's photo made into a head (daemon/demo/headturn) that turns as the kiosk's prompts
// ask, and for the photo-attack document the same photo printed and turned by hand, which the
// kiosk must refuse. Frames are drawn once per pose and kept: drawing one takes tens of
// milliseconds, a camera gives one every 67.
type Heads struct {
	d     *Demo
	head  *headturn.Head
	photo gocv.Mat
	now   func() time.Time

	mu         sync.Mutex
	frames     map[headPose]gocv.Mat
	yaw, pitch float64   // the pose now
	at         time.Time // when it was
	move       string    // the prompt the person follows
	heard      time.Time // when it appeared
}

type headPose struct {
	yaw, pitch float64
	print      bool
}

// How the demo's person moves: a reaction time after each new prompt (the kiosk takes the
// starting pose from the capture's first 250 ms, before a person reacts), then at this speed
// toward the prompt's pose (a person's head turns at 100 to 300 degrees a second), drawn in
// steps of this many degrees.
const (
	reaction  = 600 * time.Millisecond
	headSpeed = 150.0
	poseStep  = 2.5
	maxFrames = 200 // frames kept before the oldest poses are dropped (about 1 MB each)
)

// NewHeads builds the heads from photoFile (a frontal face; det finds its landmarks).
func NewHeads(d *Demo, photoFile string, det headturn.Detector) (*Heads, error) {
	b, err := os.ReadFile(photoFile)
	if err != nil {
		return nil, fmt.Errorf("demo heads: %w", err)
	}
	photo, _, err := face.Decode(b, face.DefaultLimits(), "demo head photo")
	if err != nil {
		return nil, fmt.Errorf("demo heads: %w", err)
	}
	head, err := headturn.New(photo, det)
	if err != nil {
		photo.Close()
		return nil, fmt.Errorf("demo heads: %s: %w", photoFile, err)
	}
	return &Heads{d: d, head: head, photo: photo, now: time.Now, frames: map[headPose]gocv.Mat{}}, nil
}

// Frame is frame i of the face step for document doc while the kiosk prompts move (its event
// detail): the head moves toward the prompt's pose at a person's speed, and back to the
// front when no move is asked. Frame 0 starts at the front.
func (h *Heads) Frame(doc, i int, move string) (gocv.Mat, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	if move != h.move {
		h.move, h.heard = move, now
	}
	if i == 0 || h.at.IsZero() {
		h.yaw, h.pitch = 0, 0
	} else if now.Sub(h.heard) >= reaction {
		var ty, tp float64
		if m, ok := headturn.MoveOf(move); ok {
			ty, tp, _ = headturn.Target(m)
		}
		step := headSpeed * min(now.Sub(h.at).Seconds(), 0.2)
		h.yaw, h.pitch = approach(h.yaw, ty, step), approach(h.pitch, tp, step)
	}
	h.at = now
	p := headPose{yaw: math.Round(h.yaw/poseStep) * poseStep, pitch: math.Round(h.pitch/poseStep) * poseStep,
		print: doc >= 0 && doc < len(h.d.Docs) && h.d.Docs[doc].PhotoAttack}
	m, ok := h.frames[p]
	if !ok {
		var err error
		if m, err = h.draw(p); err != nil {
			return gocv.NewMat(), err
		}
		if len(h.frames) >= maxFrames {
			h.dropFrames()
		}
		h.frames[p] = m
	}
	return m.Clone(), nil
}

func (h *Heads) draw(p headPose) (gocv.Mat, error) {
	if p.print {
		return headturn.PrintAttack(h.photo, headturn.Pose{Yaw: p.yaw, Pitch: p.pitch}), nil
	}
	return h.head.Frame(p.yaw, p.pitch)
}

// approach moves v toward target by at most step.
func approach(v, target, step float64) float64 {
	if math.Abs(target-v) <= step {
		return target
	}
	return v + math.Copysign(step, target-v)
}

func (h *Heads) dropFrames() {
	for p, m := range h.frames {
		m.Close()
		delete(h.frames, p)
	}
}

// Close frees the photo, the head and the frames.
func (h *Heads) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.head == nil {
		return errors.New("demo heads: closed twice")
	}
	h.dropFrames()
	h.head.Close()
	h.photo.Close()
	h.head = nil
	return nil
}
