// Command benchtab gathers `go test -bench` output and the peers' JSON into one table:
// medians over the runs, each benchmark next to its peer with the ratio, written as Markdown to
// stdout, as bench.json, and into the README between the bench markers.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	goOut := flag.String("go", "", "file with `go test -bench` output")
	peers := flag.String("peers", "", "comma-separated prefix=file.json pairs (peer JSON as deploy/build/face_peer.py writes)")
	jsonOut := flag.String("json", "bench.json", "where to write the results as JSON")
	readme := flag.String("readme", "", "README to update between <!-- bench:start --> and <!-- bench:end -->")
	flag.Parse()
	if err := run(*goOut, *peers, *jsonOut, *readme, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchtab:", err)
		os.Exit(1)
	}
}

// Row is one benchmark's summary.
type Row struct {
	Name       string             `json:"name"`
	Runs       int                `json:"runs"`
	NsPerOp    float64            `json:"ns_per_op_median"`
	Metrics    map[string]float64 `json:"metrics,omitempty"` // other units, medians
	Peer       string             `json:"peer,omitempty"`
	PeerNsOp   float64            `json:"peer_ns_per_op_median,omitempty"`
	Ratio      float64            `json:"ratio,omitempty"` // ours / peer: below 1 is faster than the peer
	PeerMetric map[string]float64 `json:"peer_metrics,omitempty"`
}

// Report is bench.json.
type Report struct {
	When    string `json:"when"`
	Machine string `json:"machine"`
	Go      string `json:"go"`
	Rows    []Row  `json:"rows"`
}

var (
	benchLine  = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+(\d.*ns/op.*)$`)
	benchName  = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s`)
	resultOnly = regexp.MustCompile(`^\s*\d+\s+(\d.*ns/op.*)$`)
)

func run(goOut, peers, jsonOut, readme string, w io.Writer) error {
	f, err := os.Open(goOut)
	if err != nil {
		return err
	}
	defer f.Close()
	type samples struct {
		ns      []float64
		metrics map[string][]float64
	}
	byName := map[string]*samples{}
	var order []string
	var cpu string
	sc := bufio.NewScanner(f)
	pending := "" // a benchmark name whose result was pushed to a later line by stray output
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "cpu: ") && cpu == "" {
			cpu = strings.TrimPrefix(line, "cpu: ")
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			if n := benchName.FindStringSubmatch(line); n != nil {
				pending = n[1]
			} else if pending != "" {
				if r := resultOnly.FindStringSubmatch(line); r != nil {
					m = []string{line, pending, r[1]}
					pending = ""
				}
			}
			if m == nil {
				continue
			}
		}
		name := strings.ToLower(m[1][:1]) + m[1][1:]
		s := byName[name]
		if s == nil {
			s = &samples{metrics: map[string][]float64{}}
			byName[name] = s
			order = append(order, name)
		}
		fields := strings.Fields(m[2])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			if fields[i+1] == "ns/op" {
				s.ns = append(s.ns, v)
			} else {
				s.metrics[fields[i+1]] = append(s.metrics[fields[i+1]], v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(order) == 0 {
		return errors.New("no benchmark lines in " + goOut)
	}

	peerData := map[string]peerFile{}
	if peers != "" {
		for _, kv := range strings.Split(peers, ",") {
			prefix, file, ok := strings.Cut(kv, "=")
			if !ok {
				return fmt.Errorf("peer %q: want prefix=file", kv)
			}
			p, err := readPeer(file)
			if err != nil {
				return err
			}
			peerData[prefix] = p
		}
	}

	rep := Report{When: time.Now().UTC().Format(time.RFC3339), Machine: machine(cpu), Go: runtime.Version()}
	for _, name := range order {
		s := byName[name]
		r := Row{Name: name, Runs: len(s.ns), NsPerOp: median(s.ns)}
		for unit, v := range s.metrics {
			if r.Metrics == nil {
				r.Metrics = map[string]float64{}
			}
			r.Metrics[unit] = median(v)
		}
		prefix, stage, _ := strings.Cut(name, "/")
		if p, ok := peerData[prefix]; ok {
			if ps, ok := p.Stages[stage]; ok && len(ps.NsPerOp) > 0 {
				r.Peer, r.PeerNsOp = p.Peer, median(ps.NsPerOp)
				r.Ratio = r.NsPerOp / r.PeerNsOp
			}
			if unitMetric, ok := p.Metrics[stage]; ok {
				r.Peer, r.PeerMetric = p.Peer, unitMetric
			}
		}
		rep.Rows = append(rep.Rows, r)
	}

	table := markdown(rep)
	fmt.Fprint(w, table)
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(jsonOut, append(b, '\n'), 0o644); err != nil {
		return err
	}
	if readme != "" {
		return replaceBetweenMarkers(readme, table)
	}
	return nil
}

type peerStage struct {
	NsPerOp []float64 `json:"ns_per_op"`
}

type peerFile struct {
	Peer   string               `json:"peer"`
	Stages map[string]peerStage `json:"stages"`
	// Metrics are other measurements keyed by benchmark stage, then unit.
	Metrics map[string]map[string]float64 `json:"metrics"`
}

// readPeer reads one or more peer JSON documents (one per round) and pools their samples.
func readPeer(file string) (peerFile, error) {
	f, err := os.Open(file)
	if err != nil {
		return peerFile{}, err
	}
	defer f.Close()
	all := peerFile{Stages: map[string]peerStage{}, Metrics: map[string]map[string]float64{}}
	dec := json.NewDecoder(f)
	for {
		var p peerFile
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return peerFile{}, fmt.Errorf("peer %s: %w", file, err)
		}
		all.Peer = p.Peer
		for name, st := range p.Stages {
			s := all.Stages[name]
			s.NsPerOp = append(s.NsPerOp, st.NsPerOp...)
			all.Stages[name] = s
		}
		// A metric such as RSS after load is taken from the first round, a fresh process.
		for name, m := range p.Metrics {
			if _, ok := all.Metrics[name]; !ok {
				all.Metrics[name] = m
			}
		}
	}
	if len(all.Stages) == 0 {
		return peerFile{}, fmt.Errorf("peer %s: no stages", file)
	}
	return all, nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func machine(cpu string) string {
	return fmt.Sprintf("%s, %d cores, %s/%s", cpu, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
}

func duration(ns float64) string {
	switch {
	case ns == 0:
		return ""
	case ns < 1e3:
		return fmt.Sprintf("%.0f ns", ns)
	case ns < 1e6:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	case ns < 1e9:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	}
	return fmt.Sprintf("%.2f s", ns/1e9)
}

func markdown(rep Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s on %s, %s; medians of each benchmark's runs.\n\n", rep.When, rep.Machine, rep.Go)
	b.WriteString("| benchmark | runs | edgeid | other measures | peer | peer time | edgeid / peer |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, r := range rep.Rows {
		var other []string
		for _, unit := range sortedKeys(r.Metrics) {
			s := fmt.Sprintf("%.4g %s", r.Metrics[unit], unit)
			if pv, ok := r.PeerMetric[unit]; ok {
				s += fmt.Sprintf(" (peer %.4g, ratio %.2f)", pv, r.Metrics[unit]/pv)
			}
			other = append(other, s)
		}
		ratio := ""
		if r.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f", r.Ratio)
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s |\n", r.Name, r.Runs, duration(r.NsPerOp), strings.Join(other, "; "), r.Peer, duration(r.PeerNsOp), ratio)
	}
	return b.String()
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

const startMarker, endMarker = "<!-- bench:start -->", "<!-- bench:end -->"

func replaceBetweenMarkers(path, table string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	i, j := strings.Index(s, startMarker), strings.Index(s, endMarker)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s ... %s block", path, startMarker, endMarker)
	}
	s = s[:i+len(startMarker)] + "\n" + table + s[j:]
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(s), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
