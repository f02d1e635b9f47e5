package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"time"

	"github.com/edgeid/edgeid/daemon/cmd/internal/cli"
	"github.com/edgeid/edgeid/daemon/face"
	"github.com/edgeid/edgeid/daemon/pad"
	"github.com/edgeid/edgeid/models"
)

// padAttackStats counts one attack kind.
type padAttackStats struct {
	Attempts          int       `json:"attempts"`
	Accepted          int       `json:"accepted"` // passed every check: the APCER numerator
	PassedChallenge   int       `json:"passed_challenge"`
	PassedParallax    int       `json:"passed_parallax"`
	APCER             float64   `json:"apcer"`
	MaxParallax       float64   `json:"max_parallax"`
	Parallax          []float64 `json:"parallax"`
	NoFaceInSomePoses int       `json:"attempts_with_undetected_poses"`
}

type padGenuineStats struct {
	Subjects    int     `json:"subjects"`
	Refused     int     `json:"refused"` // the BPCER numerator
	ByParallax  int     `json:"refused_by_parallax"`
	ByChallenge int     `json:"refused_by_challenge"`
	NoMovement  int     `json:"without_movement"` // no image turned far enough for any move
	BPCER       float64 `json:"bpcer"`
	MinParallax float64 `json:"min_parallax"`
	// Parallax and MaxTurn per subject (degrees of the largest estimated yaw or pitch).
	Parallax      []float64 `json:"parallax"`
	MaxTurn       []float64 `json:"max_turn"`
	RefusedDetail []string  `json:"refused_detail,omitempty"`
}

type padReport struct {
	Sets      []string                       `json:"sets"`
	Threshold float64                        `json:"parallax_threshold"`
	Attacks   map[pad.Attack]*padAttackStats `json:"attacks"`
	Genuine   padGenuineStats                `json:"genuine"`
}

func runFacePadEval(_ context.Context, e env, args []string) error {
	var ff faceFlags
	fs := newFlags(e, "face pad-eval", "DIR...")
	ff.register(fs)
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return cli.Usagef("want at least one folder holding one folder per identity")
	}
	eng, _, err := ff.engine(false)
	if err != nil {
		return err
	}
	defer eng.Close()

	man, err := models.Builtin()
	if err != nil {
		return err
	}
	rec, err := man.Get(face.RecognizerModel)
	if err != nil {
		return err
	}
	sameFace, ok := rec.Thresholds["far_1e-2"]
	if !ok {
		return fmt.Errorf("the model manifest has no far_1e-2 threshold to link the frames of one face")
	}
	parallax := pad.DefaultParallaxCheck()
	rep := padReport{Sets: pos, Threshold: parallax.MinParallax, Attacks: map[pad.Attack]*padAttackStats{}}
	rep.Genuine.MinParallax = math.Inf(1)
	for _, a := range pad.Attacks {
		rep.Attacks[a] = &padAttackStats{}
	}
	for _, dir := range pos {
		ids, err := identityFolders(dir)
		if err != nil {
			return err
		}
		for _, id := range ids {
			files, err := regularFiles(filepath.Join(dir, id))
			if err != nil {
				return err
			}
			if err := padSubject(eng, parallax, sameFace, filepath.Join(dir, id), files, &rep); err != nil {
				return err
			}
		}
	}
	g := &rep.Genuine
	if g.Subjects > 0 {
		g.BPCER = float64(g.Refused) / float64(g.Subjects)
	}
	for _, a := range rep.Attacks {
		if a.Attempts > 0 {
			a.APCER = float64(a.Accepted) / float64(a.Attempts)
		}
	}
	if ff.asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	w := e.Stdout
	fmt.Fprintf(w, "presentation-attack evaluation (ISO/IEC 30107-3 terms) over %v, parallax threshold %.3f eye distances\n", rep.Sets, rep.Threshold)
	for _, a := range pad.Attacks {
		s := rep.Attacks[a]
		fmt.Fprintf(w, "attack %-14s attempts %3d  APCER %5.1f%%  (challenge alone would pass %d, parallax alone %d; largest parallax %.3f)\n",
			a, s.Attempts, 100*s.APCER, s.PassedChallenge, s.PassedParallax, s.MaxParallax)
	}
	fmt.Fprintf(w, "genuine proxies: %d subjects, BPCER %.1f%% (refused by parallax %d, by challenge %d; %d without a large enough movement; smallest parallax %.3f)\n",
		g.Subjects, 100*g.BPCER, g.ByParallax, g.ByChallenge, g.NoMovement, g.MinParallax)
	for _, d := range g.RefusedDetail {
		fmt.Fprintf(w, "  refused: %s\n", d)
	}
	return nil
}

// padSubject scores one identity: its own images as a genuine movement sequence, and its most
// frontal image held up as each kind of attack.
func padSubject(eng *face.Engine, parallax pad.ParallaxCheck, sameFace float64, name string, files []string, rep *padReport) error {
	start := time.Unix(0, 0)
	var frames []pad.Frame
	var paths []string // the file of each frame
	for _, f := range files {
		img, _, err := loadImage(f)
		if err != nil {
			continue
		}
		a, err := eng.Analyze(img, false)
		img.Close()
		if err != nil {
			continue
		}
		// The images are separate captures, not video: they are spaced a second apart, as a
		// person would take to move between such poses.
		frames = append(frames, pad.Frame{At: start.Add(time.Duration(len(frames)) * time.Second), Analysis: a})
		paths = append(paths, f)
	}
	if len(frames) < 2 {
		return nil
	}
	challengeCheck := pad.DefaultChallengeCheck(sameFace)
	challengeCheck.TimeLimit = time.Duration(len(frames)+1) * time.Second

	// A head turning from one side to the other passes through the poses in order, so the
	// proxy sequence is the person's images sorted by yaw, a second apart.
	sweep := append([]pad.Frame(nil), frames...)
	sort.SliceStable(sweep, func(i, j int) bool { return sweep[i].Analysis.Quality.Yaw < sweep[j].Analysis.Quality.Yaw })
	for i := range sweep {
		sweep[i].At = start.Add(time.Duration(i) * time.Second)
	}
	scoreGenuine(&rep.Genuine, name, sweep, challengeCheck, parallax)

	// Attacks: the most frontal image, held up and moved as a plane to imitate the challenge.
	ref := 0
	for i, f := range frames {
		if math.Abs(f.Analysis.Quality.Yaw) < math.Abs(frames[ref].Analysis.Quality.Yaw) {
			ref = i
		}
	}
	still, _, err := loadImage(paths[ref])
	if err != nil {
		return err
	}
	defer still.Close()
	attackChallenge := pad.Challenge{Moves: []pad.Move{pad.TurnLeft, pad.TurnRight}, Started: start}
	for _, kind := range pad.Attacks {
		s := rep.Attacks[kind]
		s.Attempts++
		var af []pad.Frame
		missed := false
		for i, pose := range pad.AttackPoses {
			img := pad.RenderAttack(still, kind, pose, 640, 480)
			a, err := eng.Analyze(img, false)
			img.Close()
			if err != nil {
				missed = true
				continue
			}
			af = append(af, pad.Frame{At: start.Add(time.Duration(i) * 300 * time.Millisecond), Analysis: a})
		}
		if missed {
			s.NoFaceInSomePoses++
		}
		r := pad.Evaluate(af, attackChallenge, challengeCheck, parallax)
		if r.Live {
			s.Accepted++
		}
		if r.Scores[0].Pass {
			s.PassedChallenge++
		}
		if r.Scores[1].Pass {
			s.PassedParallax++
		}
		s.MaxParallax = math.Max(s.MaxParallax, r.Scores[1].Value)
		s.Parallax = append(s.Parallax, r.Scores[1].Value)
	}
	return nil
}

// scoreGenuine checks a person's own images as a movement sequence: the moves they really
// contain, in the order they occur, are the challenge. A subject whose images hold no move is
// counted apart and left out of BPCER: there is nothing to ask of it.
func scoreGenuine(g *padGenuineStats, name string, frames []pad.Frame, challengeCheck pad.ChallengeCheck, parallax pad.ParallaxCheck) {
	ch := movesPresent(frames, challengeCheck)
	if len(ch.Moves) == 0 {
		g.NoMovement++
		return
	}
	g.Subjects++
	ps := parallax.Score(frames, ch)
	g.MinParallax = math.Min(g.MinParallax, ps.Value)
	g.Parallax = append(g.Parallax, ps.Value)
	turn := 0.0
	for _, f := range frames {
		turn = math.Max(turn, math.Max(math.Abs(f.Analysis.Quality.Yaw), math.Abs(f.Analysis.Quality.Pitch)))
	}
	g.MaxTurn = append(g.MaxTurn, turn)
	refused := false
	if !ps.Pass {
		g.ByParallax++
		refused = true
		g.RefusedDetail = append(g.RefusedDetail, name+": "+ps.String())
	}
	if cs := challengeCheck.Score(frames, ch); !cs.Pass {
		g.ByChallenge++
		refused = true
		g.RefusedDetail = append(g.RefusedDetail, name+": "+cs.String())
	}
	if refused {
		g.Refused++
	}
}

// movesPresent is the challenge a person's own images satisfy: each move the first time a
// frame reaches it, at most two.
func movesPresent(frames []pad.Frame, c pad.ChallengeCheck) pad.Challenge {
	ch := pad.Challenge{Started: frames[0].At}
	type hit struct {
		m pad.Move
		i int
	}
	var hits []hit
	for _, m := range []pad.Move{pad.TurnLeft, pad.TurnRight, pad.LookUp, pad.LookDown} {
		for i, f := range frames {
			probe := pad.Challenge{Moves: []pad.Move{m}, Started: ch.Started}
			if c.Score([]pad.Frame{frames[0], f}, probe).Pass {
				hits = append(hits, hit{m, i})
				break
			}
		}
	}
	sort.Slice(hits, func(a, b int) bool { return hits[a].i < hits[b].i })
	for _, h := range hits {
		if len(ch.Moves) < 2 {
			ch.Moves = append(ch.Moves, h.m)
		}
	}
	return ch
}
