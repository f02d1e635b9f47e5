package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// apt runs apt-get and apt-cache for a foreign architecture under a private state directory:
// its own sources list, an empty dpkg status and its own package cache, so the host's apt state
// is neither read nor changed (the host's apt.conf.d, a proxy for instance, still applies).
type apt struct {
	dir  string   // state, lists, downloaded packages
	debs string   // where apt-get download writes
	opts []string // -o options for every call
}

func newApt(dir string, t target, mirror string) (*apt, error) {
	a := &apt{dir: dir, debs: filepath.Join(dir, "debs")}
	for _, d := range []string{"lists/partial", "cache/archives/partial", "etc/sources.list.d", "etc/preferences.d", "debs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	// The bookworm suites the machines use: the release, its updates and security updates.
	suites := [][2]string{{"debian", "bookworm"}, {"debian", "bookworm-updates"}, {"debian-security", "bookworm-security"}}
	var src strings.Builder
	for _, s := range suites {
		fmt.Fprintf(&src, "deb [arch=%s signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s/%s %s main\n", t.deb, mirror, s[0], s[1])
	}
	if err := os.WriteFile(filepath.Join(dir, "etc/sources.list"), []byte(src.String()), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "status"), nil, 0o644); err != nil {
		return nil, err
	}
	a.opts = []string{
		"-o", "Dir::State=" + dir,
		"-o", "Dir::State::Lists=" + filepath.Join(dir, "lists"),
		"-o", "Dir::State::status=" + filepath.Join(dir, "status"),
		"-o", "Dir::Cache=" + filepath.Join(dir, "cache"),
		"-o", "Dir::Etc::SourceList=" + filepath.Join(dir, "etc/sources.list"),
		"-o", "Dir::Etc::SourceParts=" + filepath.Join(dir, "etc/sources.list.d"),
		"-o", "Dir::Etc::Preferences=" + filepath.Join(dir, "etc/preferences"),
		"-o", "Dir::Etc::PreferencesParts=" + filepath.Join(dir, "etc/preferences.d"),
		"-o", "APT::Architecture=" + t.deb,
		"-o", "APT::Architectures=" + t.deb,
		"-o", "Acquire::Languages=none",
		"-o", "Acquire::Retries=3",
		"-o", "Debug::NoLocking=1",
	}
	if os.Geteuid() == 0 {
		// apt drops to _apt for downloads, which cannot write to a private folder of root's.
		a.opts = append(a.opts, "-o", "APT::Sandbox::User=root")
	}
	return a, nil
}

func (a *apt) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, append(append([]string{}, a.opts...), args...)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive")
	return cmd
}

// runQuiet runs cmd and returns its stdout; on failure the error carries stderr.
func runQuiet(cmd *exec.Cmd) ([]byte, error) {
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args[:1], " "), err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

// update fetches the package indices, three times at most. An index of the -updates or
// -security suite that still fails is tolerated with a warning, since the release suite has
// every package (seen here: a mirror serving a stale bookworm-security armhf index, whose size
// disagrees with its InRelease); the warnings are returned for the manifest.
func (a *apt) update(ctx context.Context) ([]string, error) {
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var stderr bytes.Buffer
		cmd := a.command(ctx, "apt-get", "-q", "update")
		cmd.Stderr = &stderr
		if err = cmd.Run(); err == nil {
			return nil, nil
		}
		failed := failedIndices(stderr.String())
		tolerable := len(failed) > 0
		for _, u := range failed {
			tolerable = tolerable && (strings.Contains(u, "-updates/") || strings.Contains(u, "-security/"))
		}
		if tolerable && attempt == 3 {
			var warn []string
			for _, u := range failed {
				warn = append(warn, "index not fetched, packages from the release suite instead: "+u)
			}
			return warn, nil
		}
		err = fmt.Errorf("apt-get update: %w\n%s", err, strings.TrimSpace(stderr.String()))
		if !tolerable && len(failed) == 0 {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Second):
		}
	}
	return nil, err
}

// failedIndices lists the URLs apt-get update says it failed to fetch.
func failedIndices(stderr string) []string {
	var urls []string
	for _, line := range strings.Split(stderr, "\n") {
		if rest, ok := strings.CutPrefix(line, "E: Failed to fetch "); ok {
			u, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
			urls = append(urls, u)
		}
	}
	return urls
}

// pkgInfo is one package's candidate version as apt-cache show gives it.
type pkgInfo struct {
	name, version string
	size          int64
	depends       [][]string // each dependency: its alternatives' names
}

// show returns the candidate of each name apt knows as a real package; purely virtual and
// unknown names are absent from the result.
func (a *apt) show(ctx context.Context, names []string) (map[string]*pkgInfo, error) {
	if len(names) == 0 {
		return map[string]*pkgInfo{}, nil
	}
	out, err := runQuiet(a.command(ctx, "apt-cache", append([]string{"show", "--no-all-versions"}, names...)...))
	if err != nil {
		return nil, err
	}
	return parseStanzas(out)
}

func parseStanzas(b []byte) (map[string]*pkgInfo, error) {
	res := map[string]*pkgInfo{}
	var cur map[string]string
	var last string
	flush := func() error {
		if cur == nil {
			return nil
		}
		p := &pkgInfo{name: cur["Package"], version: cur["Version"]}
		if p.name == "" {
			return fmt.Errorf("apt-cache show: a stanza without Package")
		}
		if s := cur["Size"]; s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return fmt.Errorf("apt-cache show %s: size %q: %w", p.name, s, err)
			}
			p.size = n
		}
		p.depends = append(parseDepends(cur["Pre-Depends"]), parseDepends(cur["Depends"])...)
		res[p.name] = p
		cur = nil
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if err := flush(); err != nil {
				return nil, err
			}
		case line[0] == ' ' || line[0] == '\t':
			if cur != nil && last != "" {
				cur[last] += "\n" + line
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				return nil, fmt.Errorf("apt-cache show: unexpected line %q", line)
			}
			if cur == nil {
				cur = map[string]string{}
			}
			last = k
			cur[k] = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return res, flush()
}

// parseDepends splits a Depends field into dependencies and their alternatives, dropping
// version constraints and architecture qualifiers ("libfoo:any (>= 1) | libbar").
func parseDepends(field string) [][]string {
	var deps [][]string
	for _, dep := range strings.Split(field, ",") {
		var alts []string
		for _, alt := range strings.Split(dep, "|") {
			name, _, _ := strings.Cut(strings.TrimSpace(alt), " ")
			name, _, _ = strings.Cut(name, "(")
			name, _, _ = strings.Cut(name, ":")
			if name != "" {
				alts = append(alts, name)
			}
		}
		if len(alts) > 0 {
			deps = append(deps, alts)
		}
	}
	return deps
}

// download fetches the candidates of names into a.debs and returns each one's file.
func (a *apt) download(ctx context.Context, names []string) (map[string]string, error) {
	if len(names) == 0 {
		return map[string]string{}, nil
	}
	cmd := a.command(ctx, "apt-get", append([]string{"-q", "download"}, names...)...)
	cmd.Dir = a.debs
	if _, err := runQuiet(cmd); err != nil {
		return nil, fmt.Errorf("apt-get download: %w", err)
	}
	files := map[string]string{}
	for _, n := range names {
		m, err := filepath.Glob(filepath.Join(a.debs, n+"_*.deb"))
		if err != nil {
			return nil, err
		}
		if len(m) != 1 {
			return nil, fmt.Errorf("apt-get download %s: want one .deb, found %d", n, len(m))
		}
		files[n] = m[0]
	}
	return files, nil
}
