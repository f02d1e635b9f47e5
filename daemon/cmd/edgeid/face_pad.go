package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/edgeid/edgeid/daemon/cmd/internal/cli"
	"github.com/edgeid/edgeid/daemon/face"
	"github.com/edgeid/edgeid/daemon/pad"
	"github.com/edgeid/edgeid/models"
	"gocv.io/x/gocv"
)

// padAttackStats counts one attack kind.
type padAttackStats struct {
	Attempts int `json:"attempts"`
	Accepted int `json:"accepted"` // passed every required check: the APCER numerator
	// PassedAlone: how many attempts each check on its own would have let through.
	PassedAlone map[string]int `json:"passed_alone"`
	// PassedAll: attempts that passed every check, required or not.
	PassedAll         int     `json:"passed_all"`
	APCER             float64 `json:"apcer"`
	APCERUpper95      float64 `json:"apcer_upper95"`
	MaxParallax       float64 `json:"max_parallax"`
	NoFaceInSomePoses int     `json:"attempts_with_undetected_poses"`
}

type padGenuineStats struct {
	Subjects int `json:"subjects"`
	Refused  int `json:"refused"` // the BPCER numerator
	// RefusedAlone: how many subjects each check on its own would have refused.
	RefusedAlone map[string]int `json:"refused_alone"`
	// RefusedAny: subjects that failed some check, required or not.
	RefusedAny int `json:"refused_any"`
	// LargestCue: per image cue, the largest value on any single genuine frame.
	LargestCue   map[string]float64 `json:"largest_cue"`
	NoMovement   int                `json:"without_movement"` // no image turned far enough for any move
	BPCER        float64            `json:"bpcer"`
	BPCERUpper95 float64            `json:"bpcer_upper95"`
	MinParallax  float64            `json:"min_parallax"`
	// MaxTurn per subject: degrees of the largest estimated yaw or pitch.
	MaxTurn       []float64 `json:"max_turn"`
	RefusedDetail []string  `json:"refused_detail,omitempty"`
}

// padSceneStats: single photographs of people in real surroundings, for the image cues' false
// alarms on backgrounds (straight lines, bright walls) that the face sets lack.
type padSceneStats struct {
	Images  int                `json:"images"`
	Flagged map[string]int     `json:"flagged"` // per cue: images at or over its threshold
	Values  map[string]float64 `json:"largest"` // per cue: the largest value seen
}

type padReport struct {
	Sets     []string                       `json:"sets"`
	Required []string                       `json:"required"`
	Checks   []string                       `json:"checks"`
	Attacks  map[pad.Attack]*padAttackStats `json:"attacks"`
	Genuine  padGenuineStats                `json:"genuine"`
	Scenes   padSceneStats                  `json:"scenes"`
}

func runFacePadEval(ctx context.Context, e env, args []string) error {
	var ff faceFlags
	fs := newFlags(e, "face pad-eval", "DIR...")
	ff.register(fs)
	var required, scenes cli.Multi
	fs.Var(&required, "require", "a check the decision requires (repeatable; default: "+strings.Join(pad.DefaultRequired, ", ")+")")
	fs.Var(&scenes, "scene", "a photograph of a person in real surroundings, for the image cues' false alarms (repeatable)")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return cli.Usagef("want at least one folder holding one folder per identity")
	}
	if len(required) == 0 {
		required = pad.DefaultRequired
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
	sameFace, err := face.SameFaceDistance(man)
	if err != nil {
		return err
	}
	suite, err := pad.NewSuite(required, sameFace)
	if err != nil {
		return cli.Usagef("%v", err)
	}
	rep := newPadReport(pos, suite)
	for _, dir := range pos {
		ids, err := identityFolders(dir)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := stopped(ctx); err != nil {
				return err
			}
			files, err := regularFiles(filepath.Join(dir, id))
			if err != nil {
				return err
			}
			if err := padSubject(eng, suite, filepath.Join(dir, id), files, &rep); err != nil {
				return err
			}
		}
	}
	if err := padScenes(eng, suite, scenes, &rep.Scenes); err != nil {
		return err
	}
	rep.rates()
	if ff.asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printPadReport(e.Stdout, rep)
	return nil
}

func printPadReport(w io.Writer, rep padReport) {
	alone := func(m map[string]int) string {
		var parts []string
		for _, c := range rep.Checks {
			parts = append(parts, fmt.Sprintf("%s %d", c, m[c]))
		}
		return strings.Join(parts, ", ")
	}
	fmt.Fprintf(w, "presentation-attack evaluation (ISO/IEC 30107-3 terms) over %v\nrequired checks: %s (upper: one-sided 95%% Clopper-Pearson bound)\n",
		rep.Sets, strings.Join(rep.Required, ", "))
	for _, a := range append(pad.Attacks, pad.AttackReplay) {
		s := rep.Attacks[a]
		fmt.Fprintf(w, "attack %-14s attempts %3d  APCER %5.1f%% (upper %4.1f%%)  would pass alone: %s\n",
			a, s.Attempts, 100*s.APCER, 100*s.APCERUpper95, alone(s.PassedAlone))
	}
	g := rep.Genuine
	fmt.Fprintf(w, "genuine proxies: %d subjects  BPCER %5.1f%% (upper %4.1f%%)  would refuse alone: %s\n",
		g.Subjects, 100*g.BPCER, 100*g.BPCERUpper95, alone(g.RefusedAlone))
	var every []string
	for _, a := range append(pad.Attacks, pad.AttackReplay) {
		every = append(every, fmt.Sprintf("%s %d/%d", a, rep.Attacks[a].PassedAll, rep.Attacks[a].Attempts))
	}
	fmt.Fprintf(w, "with every check required: attacks accepted %s; genuine refused %d/%d\n", strings.Join(every, ", "), g.RefusedAny, g.Subjects)
	fmt.Fprintf(w, "  largest on one genuine frame: border %.3f, moire %.3f, glare %.4f\n", g.LargestCue[pad.NameBorder], g.LargestCue[pad.NameMoire], g.LargestCue[pad.NameGlare])
	fmt.Fprintf(w, "  %d subjects without a large enough movement are counted apart; smallest genuine parallax %.3f, largest attack parallax %.3f\n",
		g.NoMovement, g.MinParallax, math.Max(rep.Attacks[pad.AttackPlane].MaxParallax, math.Max(rep.Attacks[pad.AttackPrint].MaxParallax, rep.Attacks[pad.AttackScreen].MaxParallax)))
	for _, d := range g.RefusedDetail {
		fmt.Fprintf(w, "  refused: %s\n", d)
	}
	if sc := rep.Scenes; sc.Images > 0 {
		var parts []string
		for _, c := range []string{pad.NameBorder, pad.NameMoire, pad.NameGlare} {
			parts = append(parts, fmt.Sprintf("%s %d (largest %.3f)", c, sc.Flagged[c], sc.Values[c]))
		}
		fmt.Fprintf(w, "scenes: %d photographs of people in real surroundings, flagged by: %s\n", sc.Images, strings.Join(parts, ", "))
	}
}

// binomialUpper95 is the one-sided 95% Clopper-Pearson upper bound on a rate seen k times in
// n trials: the p at which k or fewer would be seen only 5% of the time.
func binomialUpper95(k, n int) float64 {
	if k >= n {
		return 1
	}
	cdf := func(p float64) float64 { // P(X <= k) for X ~ Binomial(n, p)
		sum, term := 0.0, math.Pow(1-p, float64(n))
		for i := 0; i <= k; i++ {
			sum += term
			term *= float64(n-i) / float64(i+1) * p / (1 - p)
		}
		return sum
	}
	lo, hi := float64(k)/float64(n), 1.0
	for range 60 {
		mid := (lo + hi) / 2
		if cdf(mid) > 0.05 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// analyzeWithCues runs the face pipeline on one image and measures the suite's cues on it.
func analyzeWithCues(eng *face.Engine, suite pad.Suite, img gocv.Mat, at time.Time) (pad.Frame, error) {
	a, err := eng.Analyze(img, false)
	if err != nil {
		return pad.Frame{}, err
	}
	return pad.Frame{At: at, Analysis: a, Cues: pad.MeasureCues(img, a.Face, suite.Cues)}, nil
}

// newPadReport is an empty report for the sets pos scored with suite.
func newPadReport(pos []string, suite pad.Suite) padReport {
	rep := padReport{Sets: pos, Required: suite.Required, Attacks: map[pad.Attack]*padAttackStats{}}
	for _, c := range suite.Checks() {
		rep.Checks = append(rep.Checks, c.Name())
	}
	rep.Genuine.MinParallax = math.Inf(1)
	rep.Genuine.RefusedAlone = map[string]int{}
	rep.Genuine.LargestCue = map[string]float64{}
	for _, a := range append(pad.Attacks, pad.AttackReplay) {
		rep.Attacks[a] = &padAttackStats{PassedAlone: map[string]int{}}
	}
	return rep
}

// rates turns the counts into error rates with their 95% upper bounds.
func (rep *padReport) rates() {
	g := &rep.Genuine
	if g.Subjects > 0 {
		g.BPCER = float64(g.Refused) / float64(g.Subjects)
		g.BPCERUpper95 = binomialUpper95(g.Refused, g.Subjects)
	}
	for _, a := range rep.Attacks {
		if a.Attempts > 0 {
			a.APCER = float64(a.Accepted) / float64(a.Attempts)
			a.APCERUpper95 = binomialUpper95(a.Accepted, a.Attempts)
		}
	}
}

// padSubject scores one identity: its own images as a genuine movement sequence, and its most
// frontal image held up as each kind of attack.
func padSubject(eng *face.Engine, suite pad.Suite, name string, files []string, rep *padReport) error {
	start := time.Unix(0, 0)
	var frames []pad.Frame
	var paths []string // the file of each frame
	for _, f := range files {
		img, _, err := loadImage(f)
		if err != nil {
			continue
		}
		fr, err := analyzeWithCues(eng, suite, img, start)
		img.Close()
		if err != nil {
			continue
		}
		frames = append(frames, fr)
		paths = append(paths, f)
	}
	if len(frames) < 2 {
		return nil
	}
	// The images are separate captures, not video: they are spaced a second apart, as a
	// person would take to move between such poses.
	suite.Challenge.TimeLimit = time.Duration(len(frames)+1) * time.Second
	order := sweepOrder(frames)
	sweep := make([]pad.Frame, len(order))
	for i, k := range order {
		sweep[i] = frames[k]
		sweep[i].At = start.Add(time.Duration(i) * time.Second)
	}
	if ch, ok := scoreGenuine(&rep.Genuine, name, sweep, suite); ok {
		// The same movement replayed on a phone held before the camera, with the hand's
		// small sway; the attacker is granted a video that shows exactly the moves asked.
		replay, err := padReplay(eng, suite, paths, order, start)
		if err != nil {
			return err
		}
		tallyAttack(rep.Attacks[pad.AttackReplay], suite.Evaluate(replay, ch), len(replay) < len(order))
	}

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
	padStillAttacks(eng, suite, still, start, rep)
	return nil
}

// padReplay renders the genuine sweep (frames in order, files in paths) replayed on a phone.
func padReplay(eng *face.Engine, suite pad.Suite, paths []string, order []int, start time.Time) ([]pad.Frame, error) {
	var replay []pad.Frame
	for i, k := range order {
		img, _, err := loadImage(paths[k])
		if err != nil {
			return nil, err
		}
		sway := pad.Pose{Yaw: 4 * math.Sin(float64(i)), Pitch: 3 * math.Cos(float64(i)), Roll: 1, Scale: 0.55}
		shown := pad.RenderAttack(img, pad.AttackReplay, sway, 640, 480)
		img.Close()
		fr, err := analyzeWithCues(eng, suite, shown, start.Add(time.Duration(i)*time.Second))
		shown.Close()
		if err == nil {
			replay = append(replay, fr)
		}
	}
	return replay, nil
}

// padStillAttacks holds the still image up as each kind of attack, moved as a plane to
// imitate the challenge, and tallies the results.
func padStillAttacks(eng *face.Engine, suite pad.Suite, still gocv.Mat, start time.Time, rep *padReport) {
	attackChallenge := pad.Challenge{Moves: []pad.Move{pad.TurnLeft, pad.TurnRight}, Started: start}
	for _, kind := range pad.Attacks {
		s := rep.Attacks[kind]
		var af []pad.Frame
		missed := false
		for i, pose := range pad.AttackPoses {
			img := pad.RenderAttack(still, kind, pose, 640, 480)
			fr, err := analyzeWithCues(eng, suite, img, start.Add(time.Duration(i)*300*time.Millisecond))
			img.Close()
			if err != nil {
				missed = true
				continue
			}
			af = append(af, fr)
		}
		tallyAttack(s, suite.Evaluate(af, attackChallenge), missed)
	}
}

// tallyAttack counts one attack attempt's result.
func tallyAttack(s *padAttackStats, r pad.Result, missedFrames bool) {
	s.Attempts++
	if missedFrames {
		s.NoFaceInSomePoses++
	}
	if r.Live {
		s.Accepted++
	}
	all := true
	for _, sc := range r.Scores {
		all = all && sc.Pass
		if sc.Pass {
			s.PassedAlone[sc.Check]++
		}
		if sc.Check == pad.NameParallax {
			s.MaxParallax = math.Max(s.MaxParallax, sc.Value)
		}
	}
	if all {
		s.PassedAll++
	}
}

// padScenes measures the image cues on single photographs of people in real surroundings.
func padScenes(eng *face.Engine, suite pad.Suite, files []string, sc *padSceneStats) error {
	sc.Flagged, sc.Values = map[string]int{}, map[string]float64{}
	for _, f := range files {
		img, _, err := loadImage(f)
		if err != nil {
			return err
		}
		fr, err := analyzeWithCues(eng, suite, img, time.Time{})
		img.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		sc.Images++
		for _, c := range suite.Others {
			cc, ok := c.(pad.CueCheck)
			if !ok {
				continue
			}
			v := fr.Cues[cc.Cue]
			sc.Values[cc.Cue] = math.Max(sc.Values[cc.Cue], v)
			if v >= cc.Threshold {
				sc.Flagged[cc.Cue]++
			}
		}
	}
	return nil
}

// sweepOrder orders a person's images as the movement the kiosk asks for: the most frontal
// image first (the person looks at the screen when the challenge appears), then the images
// towards one side in order of yaw, then those towards the other side.
func sweepOrder(frames []pad.Frame) []int {
	byYaw := make([]int, len(frames))
	for i := range byYaw {
		byYaw[i] = i
	}
	yaw := func(i int) float64 { return frames[i].Analysis.Quality.Yaw }
	sort.SliceStable(byYaw, func(a, b int) bool { return yaw(byYaw[a]) < yaw(byYaw[b]) })
	front := 0
	for i, k := range byYaw {
		if math.Abs(yaw(k)) < math.Abs(yaw(byYaw[front])) {
			front = i
		}
	}
	order := append([]int(nil), byYaw[front:]...)
	for i := front - 1; i >= 0; i-- {
		order = append(order, byYaw[i])
	}
	return order
}

// scoreGenuine checks a person's own images as a movement sequence: the moves they really
// contain, in the order they occur, are the challenge. A subject whose images hold no move is
// counted apart and left out of BPCER: there is nothing to ask of it. It returns the challenge
// and whether the subject counted.
func scoreGenuine(g *padGenuineStats, name string, frames []pad.Frame, suite pad.Suite) (pad.Challenge, bool) {
	ch := movesPresent(frames, suite.Challenge)
	if len(ch.Moves) == 0 {
		g.NoMovement++
		return ch, false
	}
	g.Subjects++
	turn := 0.0
	for _, f := range frames {
		turn = math.Max(turn, math.Max(math.Abs(f.Analysis.Quality.Yaw), math.Abs(f.Analysis.Quality.Pitch)))
	}
	g.MaxTurn = append(g.MaxTurn, turn)
	for _, f := range frames {
		for cue, v := range f.Cues {
			g.LargestCue[cue] = math.Max(g.LargestCue[cue], v)
		}
	}
	r := suite.Evaluate(frames, ch)
	anyFailed := false
	for _, sc := range r.Scores {
		if sc.Check == pad.NameParallax {
			g.MinParallax = math.Min(g.MinParallax, sc.Value)
		}
		if !sc.Pass {
			anyFailed = true
			g.RefusedAlone[sc.Check]++
			g.RefusedDetail = append(g.RefusedDetail, name+": "+sc.String())
		}
	}
	if !r.Live {
		g.Refused++
	}
	if anyFailed {
		g.RefusedAny++
	}
	return ch, true
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
