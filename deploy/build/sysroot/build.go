package main

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"debug/elf"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/edgeid/edgeid/deploy/build/internal/elffile"
)

type opts struct {
	arch, cache, mirror string
	dev, run, opencv    []string
}

// source is this program's own code: a change to it builds a new sysroot.
//
//go:embed main.go apt.go build.go
var source embed.FS

// keepUnused is how long a sysroot nobody asked for stays in the cache.
const keepUnused = 7 * 24 * time.Hour

func cacheKey(o *opts) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "arch %s\nmirror %s\n", o.arch, o.mirror)
	for _, l := range [][]string{o.dev, o.run, o.opencv} {
		s := slices.Clone(l)
		sort.Strings(s)
		fmt.Fprintf(h, "%s\n", strings.Join(s, " "))
	}
	err := fs.WalkDir(source, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := source.ReadFile(path)
		fmt.Fprintf(h, "%s %d\n", path, len(b))
		h.Write(b)
		return err
	})
	return hex.EncodeToString(h.Sum(nil))[:12], err
}

// build returns the sysroot for o, from the cache or made now.
func build(ctx context.Context, o *opts) (string, error) {
	t, err := targetOf(o.arch)
	if err != nil {
		return "", err
	}
	if len(o.run) == 0 {
		return "", errors.New("no runtime packages (-run): nothing to build against")
	}
	key, err := cacheKey(o)
	if err != nil {
		return "", err
	}
	final := filepath.Join(o.cache, "sysroot-"+t.deb+"-"+key)
	if ready(final) {
		return final, nil
	}
	if err := os.MkdirAll(o.cache, 0o755); err != nil {
		return "", fmt.Errorf("cache folder: %w (set EDGEID_CACHE or -cache to a writable folder)", err)
	}
	unlock, err := lock(filepath.Join(o.cache, "sysroot-"+t.deb+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if ready(final) { // another build made it while we waited
		return final, nil
	}
	prune(o.cache, t.deb)
	work, err := os.MkdirTemp(o.cache, "sysroot-"+t.deb+"-tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)

	start := time.Now()
	fmt.Fprintf(os.Stderr, "sysroot: %s: building %s\n", t.deb, final)
	s, err := assemble(ctx, o, t, work)
	if err != nil {
		return "", fmt.Errorf("%s: %w", t.deb, err)
	}
	elapsed := time.Since(start).Round(time.Second)
	if err := s.writeManifest(elapsed); err != nil {
		return "", err
	}
	if err := os.RemoveAll(final); err != nil {
		return "", err
	}
	if err := os.Rename(s.root, final); err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "sysroot: %s: %d packages unpacked (%d fetched and left out), %.1f MB downloaded, in %s\n",
		t.deb, len(s.pkgs), len(s.fetched)-len(s.pkgs), float64(s.downloaded)/1e6, elapsed)
	return final, nil
}

// ready says whether dir is a complete sysroot, and marks it used.
func ready(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, ".edgeid", "packages")); err != nil {
		return false
	}
	now := time.Now()
	_ = os.Chtimes(filepath.Join(dir, ".edgeid", "packages"), now, now)
	return true
}

func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// prune removes, under the architecture's lock, the leftovers of interrupted builds and the
// sysroots of that architecture nobody used for keepUnused.
func prune(cache, arch string) {
	dirs, _ := filepath.Glob(filepath.Join(cache, "sysroot-"+arch+"-*"))
	for _, d := range dirs {
		if strings.HasPrefix(filepath.Base(d), "sysroot-"+arch+"-tmp-") {
			os.RemoveAll(d)
			continue
		}
		st, err := os.Stat(filepath.Join(d, ".edgeid", "packages"))
		if err == nil && time.Since(st.ModTime()) > keepUnused {
			fmt.Fprintf(os.Stderr, "sysroot: removing %s, unused since %s\n", d, st.ModTime().Format(time.DateOnly))
			os.RemoveAll(d)
		}
	}
}

// sysroot is a sysroot being assembled.
type sysroot struct {
	root       string
	t          target
	owner      map[string]string // file (relative to root) -> package
	byBase     map[string][]string
	pkgs       map[string]*unpacked // unpacked packages
	fetched    map[string]string    // downloaded packages -> .deb
	info       map[string]*pkgInfo  // what apt-cache show said, by name
	downloaded int64                // bytes
	warnings   []string
}

type unpacked struct {
	info  *pkgInfo
	role  string // dev, run or closure
	files []string
}

func assemble(ctx context.Context, o *opts, t target, work string) (*sysroot, error) {
	s := &sysroot{root: filepath.Join(work, "root"), t: t, owner: map[string]string{}, byBase: map[string][]string{},
		pkgs: map[string]*unpacked{}, fetched: map[string]string{}, info: map[string]*pkgInfo{}}
	if err := os.MkdirAll(s.root, 0o755); err != nil {
		return nil, err
	}
	a, err := newApt(filepath.Join(work, "apt"), t, o.mirror)
	if err != nil {
		return nil, err
	}
	if s.warnings, err = a.update(ctx); err != nil {
		return nil, err
	}
	for _, w := range s.warnings {
		fmt.Fprintf(os.Stderr, "sysroot: %s: warning: %s\n", t.deb, w)
	}
	named := append(slices.Clone(o.dev), o.run...)
	if err := s.fetch(ctx, a, named); err != nil {
		return nil, err
	}
	for _, n := range named {
		if s.info[n] == nil {
			return nil, fmt.Errorf("package %s: not in bookworm for %s", n, t.deb)
		}
	}
	for _, n := range o.dev {
		if err := s.unpack(ctx, n, "dev"); err != nil {
			return nil, err
		}
	}
	for _, n := range o.run {
		if err := s.unpack(ctx, n, "run"); err != nil {
			return nil, err
		}
	}
	if err := s.closure(ctx, a, o.run); err != nil {
		return nil, err
	}
	return s, s.writeOpenCVpc(o.opencv)
}

// fetch learns and downloads the named packages that are new.
func (s *sysroot) fetch(ctx context.Context, a *apt, names []string) error {
	if err := s.learn(ctx, a, names); err != nil {
		return err
	}
	var todo []string
	for _, n := range names {
		if _, ok := s.fetched[n]; !ok && s.info[n] != nil {
			todo = append(todo, n)
		}
	}
	debs, err := a.download(ctx, todo)
	if err != nil {
		return err
	}
	for n, f := range debs {
		s.fetched[n] = f
		s.downloaded += s.info[n].size
	}
	return nil
}

// tarEntry is one file of a package's data archive.
type tarEntry struct {
	path string // relative, clean
	link string // symlink target, if a symlink
}

func listDeb(ctx context.Context, deb string) ([]tarEntry, error) {
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", deb)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var entries []tarEntry
	tr := tar.NewReader(out)
	var rerr error
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			rerr = err
			break
		}
		p := filepath.Clean(strings.TrimPrefix(h.Name, "./"))
		if p == "." || h.Typeflag == tar.TypeDir {
			continue
		}
		e := tarEntry{path: p}
		if h.Typeflag == tar.TypeSymlink {
			e.link = h.Linkname
		}
		entries = append(entries, e)
	}
	io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("dpkg-deb --fsys-tarfile %s: %w: %s", deb, err, stderr.String())
	}
	if rerr != nil {
		return nil, fmt.Errorf("%s: %w", deb, rerr)
	}
	return entries, nil
}

// libDir says whether dir holds libraries by soname, or is one folder below the multiarch
// library folder (where update-alternatives' targets live, such as blas/ and lapack/).
func (s *sysroot) libDir(dir string) (direct, alternative bool) {
	if slices.Contains(s.t.libDirs(), dir) {
		return true, false
	}
	return false, filepath.Dir(dir) == "usr/lib/"+s.t.triplet
}

// unpack extracts a downloaded package into the sysroot and indexes its files. Absolute
// symlinks (libm.so -> /lib/...) are made relative, so that they stay inside the sysroot.
func (s *sysroot) unpack(ctx context.Context, name, role string) error {
	deb := s.fetched[name]
	entries, err := listDeb(ctx, deb)
	if err != nil {
		return err
	}
	if _, err := runQuiet(exec.CommandContext(ctx, "dpkg-deb", "-x", deb, s.root)); err != nil {
		return err
	}
	u := &unpacked{info: s.info[name], role: role}
	for _, e := range entries {
		s.owner[e.path] = name
		u.files = append(u.files, e.path)
		if direct, alt := s.libDir(filepath.Dir(e.path)); direct || alt {
			s.byBase[filepath.Base(e.path)] = append(s.byBase[filepath.Base(e.path)], e.path)
		}
		if !filepath.IsAbs(e.link) {
			continue
		}
		at := filepath.Join(s.root, e.path)
		rel, err := filepath.Rel(filepath.Dir(at), filepath.Join(s.root, e.link))
		if err != nil {
			return err
		}
		if err := os.Remove(at); err != nil {
			return err
		}
		if err := os.Symlink(rel, at); err != nil {
			return err
		}
	}
	s.pkgs[name] = u
	return nil
}

// resolve finds the file the loader would open for soname. A library only found in an
// alternatives folder gets the link update-alternatives makes at installation.
func (s *sysroot) resolve(soname string) (string, bool) {
	for _, d := range s.t.libDirs() {
		if _, ok := s.owner[d+"/"+soname]; ok {
			return d + "/" + soname, true
		}
	}
	for _, p := range s.byBase[soname] {
		if _, alt := s.libDir(filepath.Dir(p)); !alt {
			continue
		}
		link := "usr/lib/" + s.t.triplet + "/" + soname
		if err := os.Symlink(filepath.Base(filepath.Dir(p))+"/"+soname, filepath.Join(s.root, link)); err != nil {
			return "", false
		}
		s.owner[link] = s.owner[p]
		return link, true
	}
	return "", false
}

// provides says whether a package's files include one of the sonames.
func (s *sysroot) provides(entries []tarEntry, sonames map[string]map[string]bool) bool {
	for _, e := range entries {
		if direct, alt := s.libDir(filepath.Dir(e.path)); (direct || alt) && sonames[filepath.Base(e.path)] != nil {
			return true
		}
	}
	return false
}

// closure adds the shared libraries the runtime packages' libraries need, transitively: in
// each round the unresolved sonames' owners' dependencies are downloaded, and those that ship
// one of them are unpacked.
func (s *sysroot) closure(ctx context.Context, a *apt, roots []string) error {
	var queue []string
	for _, r := range roots {
		for _, f := range s.pkgs[r].files {
			if direct, _ := s.libDir(filepath.Dir(f)); direct && strings.Contains(filepath.Base(f), ".so") {
				queue = append(queue, f)
			}
		}
	}
	scanned := map[string]bool{}
	unresolved := map[string]map[string]bool{} // soname -> packages whose libraries need it
	listed := map[string][]tarEntry{}
	for round := 1; ; round++ {
		for len(queue) > 0 {
			f := queue[0]
			queue = queue[1:]
			real, err := filepath.EvalSymlinks(filepath.Join(s.root, f))
			if err != nil {
				return fmt.Errorf("%s (from %s): %w", f, s.owner[f], err)
			}
			if scanned[real] {
				continue
			}
			scanned[real] = true
			needed, err := elfNeeded(real)
			if err != nil {
				return fmt.Errorf("%s (from %s): %w", f, s.owner[f], err)
			}
			for _, n := range needed {
				if p, ok := s.resolve(n); ok {
					queue = append(queue, p)
					continue
				}
				if unresolved[n] == nil {
					unresolved[n] = map[string]bool{}
				}
				unresolved[n][s.owner[f]] = true
			}
		}
		if len(unresolved) == 0 {
			return nil
		}

		// The dependencies of the packages that need a missing soname.
		needers := map[string]bool{}
		for _, by := range unresolved {
			for p := range by {
				needers[p] = true
			}
		}
		var alts []string
		for p := range needers {
			for _, dep := range s.pkgs[p].info.depends {
				alts = append(alts, dep...)
			}
		}
		if err := s.learn(ctx, a, alts); err != nil {
			return err
		}
		var cands []string
		for p := range needers {
			for _, dep := range s.pkgs[p].info.depends {
				for _, alt := range dep {
					if s.info[alt] != nil { // the first alternative that is a real package
						if s.pkgs[alt] == nil && !slices.Contains(cands, alt) {
							cands = append(cands, alt)
						}
						break
					}
				}
			}
		}
		sort.Strings(cands)
		if err := s.fetch(ctx, a, cands); err != nil {
			return err
		}
		added := 0
		for _, c := range cands {
			if listed[c] == nil {
				e, err := listDeb(ctx, s.fetched[c])
				if err != nil {
					return err
				}
				listed[c] = e
			}
			if !s.provides(listed[c], unresolved) {
				continue
			}
			if err := s.unpack(ctx, c, "closure"); err != nil {
				return err
			}
			added++
		}
		for n := range unresolved {
			if p, ok := s.resolve(n); ok {
				queue = append(queue, p)
				delete(unresolved, n)
			}
		}
		fmt.Fprintf(os.Stderr, "sysroot: %s: round %d: %d candidate dependencies, %d unpacked\n", s.t.deb, round, len(cands), added)
		if added == 0 {
			var missing []string
			for n, by := range unresolved {
				missing = append(missing, fmt.Sprintf("%s (needed by %s)", n, strings.Join(slices.Sorted(maps.Keys(by)), ", ")))
			}
			sort.Strings(missing)
			return fmt.Errorf("no dependency ships %s", strings.Join(missing, "; "))
		}
	}
}

// learn asks apt about the names it has not seen yet.
func (s *sysroot) learn(ctx context.Context, a *apt, names []string) error {
	var unknown []string
	for _, n := range names {
		if _, ok := s.info[n]; !ok && !slices.Contains(unknown, n) {
			unknown = append(unknown, n)
		}
	}
	got, err := a.show(ctx, unknown)
	if err != nil {
		return err
	}
	for _, n := range unknown {
		s.info[n] = got[n] // nil: virtual or unknown
	}
	return nil
}

// elfNeeded lists a shared library's DT_NEEDED entries; a file that is not ELF (a linker
// script, say) needs nothing the loader would look for.
func elfNeeded(path string) ([]string, error) {
	f, err := elffile.Open(path)
	if f == nil || err != nil {
		return nil, err
	}
	defer f.Close()
	return f.DynString(elf.DT_NEEDED)
}

// writeOpenCVpc writes an opencv4.pc for the modules the sysroot holds. Debian's own (in
// libopencv-dev) names all 55 modules, contrib included, whose closure is most of the download
// this program avoids.
func (s *sysroot) writeOpenCVpc(modules []string) error {
	if len(modules) == 0 {
		return nil
	}
	core := s.pkgs["libopencv-core-dev"]
	if core == nil {
		return errors.New("opencv4.pc: libopencv-core-dev is not among the -dev packages")
	}
	version := core.info.version
	if _, v, ok := strings.Cut(version, ":"); ok {
		version = v
	}
	version, _, _ = strings.Cut(version, "+")
	libdir := "usr/lib/" + s.t.triplet
	var libs []string
	for _, m := range modules {
		lib := libdir + "/libopencv_" + m + ".so"
		if _, err := os.Stat(filepath.Join(s.root, lib)); err != nil {
			return fmt.Errorf("opencv4.pc: module %s: %s or what it links to is missing (want libopencv-%s-dev and libopencv-%s406)", m, lib, m, m)
		}
		libs = append(libs, "-lopencv_"+m)
	}
	pc := fmt.Sprintf(`# Written by deploy/build/sysroot: the OpenCV modules edgeid links, all of which this sysroot holds.
prefix=/usr
libdir=${prefix}/lib/%s
includedir=${prefix}/include/opencv4

Name: OpenCV
Description: OpenCV %s, the modules edgeid links
Version: %s
Libs: -L${libdir} %s
Cflags: -I${includedir}
`, s.t.triplet, version, version, strings.Join(libs, " "))
	dir := filepath.Join(s.root, libdir, "pkgconfig")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "opencv4.pc"), []byte(pc), 0o644)
}

// writeManifest records, in .edgeid/, what the sysroot holds: packages (role, name, version,
// download size; "left-out" for dependencies fetched but not needed), and shlibs (the package
// of every library file, for the Debian package's dependency check).
func (s *sysroot) writeManifest(elapsed time.Duration) error {
	dir := filepath.Join(s.root, ".edgeid")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var shlibs []string
	for path, p := range s.owner {
		u := s.pkgs[p]
		if direct, _ := s.libDir(filepath.Dir(path)); direct && u.role != "dev" && strings.Contains(filepath.Base(path), ".so") {
			shlibs = append(shlibs, filepath.Base(path)+" "+p+"\n")
		}
	}
	sort.Strings(shlibs)
	if err := os.WriteFile(filepath.Join(dir, "shlibs"), []byte(strings.Join(shlibs, "")), 0o644); err != nil {
		return err
	}
	var lines []string
	for n := range s.fetched {
		role := "left-out"
		if u := s.pkgs[n]; u != nil {
			role = u.role
		}
		i := s.info[n]
		lines = append(lines, fmt.Sprintf("%s %s %s %d\n", role, n, i.version, i.size))
	}
	sort.Strings(lines)
	head := fmt.Sprintf("# %s sysroot: %d packages unpacked, %d downloaded, %d bytes, built in %s\n",
		s.t.deb, len(s.pkgs), len(s.fetched), s.downloaded, elapsed)
	for _, w := range s.warnings {
		head += "# warning: " + w + "\n"
	}
	head += "# role name version bytes\n"
	// Written last: its presence marks the sysroot complete.
	return os.WriteFile(filepath.Join(dir, "packages"), []byte(head+strings.Join(lines, "")), 0o644)
}
