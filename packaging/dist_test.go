//go:build disttest

package packaging

// Tests of the release downloads in dist/, as a user gets them: the archives'
// contents, the binaries' build settings and version, the .deb unpacked into
// a throwaway root with its programs started (the app's window under the
// test session's Xvfb), and calmkey.exe from the zip started under Wine.
// make test-dist and make test-windows-app build dist/ first and set
// CALMKEY_DIST_COMMIT to the commit the binaries must print.

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"fmt"
	"image"
	_ "image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tc-hib/winres"
	winversion "github.com/tc-hib/winres/version"

	wt "github.com/calmkey/calmkey/internal/windowtest"
)

const (
	root    = ".."
	distDir = "../dist"
	appID   = "io.calmkey.app"
)

var (
	version string // from FyneApp.toml
	commit  = os.Getenv("CALMKEY_DIST_COMMIT")
	temps   []string // removed by TestMain
)

func TestMain(m *testing.M) {
	toml, err := os.ReadFile(filepath.Join(root, "FyneApp.toml"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if v := regexp.MustCompile(`(?m)^Version *= *"([^"]+)"`).FindSubmatch(toml); v != nil {
		version = string(v[1])
	}
	if version == "" || commit == "" {
		fmt.Fprintln(os.Stderr, "packaging: no Version in FyneApp.toml or no CALMKEY_DIST_COMMIT; run make test-dist or make test-windows-app")
		os.Exit(2)
	}
	code := m.Run()
	stopWine()
	for _, dir := range temps {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// versionLine is what prog's version command prints.
func versionLine(prog string) string {
	return prog + " " + version + " (commit " + commit + ")"
}

func dist(name string) string { return filepath.Join(distDir, name) }

// The downloads' names, as scripts/dist makes them.
func zipName() string { return "calmkey-" + version + "-windows-amd64.zip" }
func tarName() string { return "calmkey-" + version + "-linux-amd64.tar.xz" }
func debName() string { return "calmkey_" + version + "_amd64.deb" }
func msiName() string { return "calmkey-" + version + "-windows-amd64.msi" }

// The package managers' manifests (scripts/manifests): a folder and a file.
const (
	wingetDir = "winget"
	scoopName = "calmkey.json"
)

// ctlBuilds are the cgo-free calmkeyctl downloads (windows/amd64 is in the zip).
var ctlBuilds = []struct{ goos, goarch string }{
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"linux", "amd64"}, {"linux", "arm64"},
	{"windows", "arm64"},
}

func ctlName(goos, goarch string) string {
	name := "calmkeyctl-" + version + "-" + goos + "-" + goarch
	if goos == "windows" {
		name += ".exe"
	}
	return name
}

// once extracts or prepares something once per test binary, in a temp dir
// that TestMain removes.
type once struct {
	sync.Once
	dir string
	err error
}

func (o *once) get(t testing.TB, fill func(dir string) error) string {
	t.Helper()
	o.Do(func() {
		o.dir, o.err = os.MkdirTemp("", "calmkey-dist-test")
		if o.err == nil {
			temps = append(temps, o.dir)
			o.err = fill(o.dir)
		}
	})
	if o.err != nil {
		t.Fatal(o.err)
	}
	return o.dir
}

// run runs a command in dir and returns its stdout; it fails the test, with
// stdout and stderr, when the command fails.
// unpack runs argv with the temp dir appended, once, and returns the dir.
func (o *once) unpack(t testing.TB, argv ...string) string {
	t.Helper()
	return o.get(t, func(dir string) error {
		out, err := exec.Command(argv[0], append(argv[1:], dir)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
		return nil
	})
}

func run(t testing.TB, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.String()
}

// filesUnder lists the regular files under dir, relative, with their modes.
func filesUnder(t testing.TB, dir string) map[string]os.FileMode {
	t.Helper()
	files := map[string]os.FileMode{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = info.Mode()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// expectFiles checks that got holds exactly the files of want, each with
// its mode (0: any mode).
func expectFiles(t testing.TB, what string, got map[string]os.FileMode, want map[string]os.FileMode) {
	t.Helper()
	if g, w := sortedKeys(got), sortedKeys(want); !slices.Equal(g, w) {
		t.Fatalf("%s holds\n  %s\nwant\n  %s", what, strings.Join(g, "\n  "), strings.Join(w, "\n  "))
	}
	for name, mode := range want {
		if mode != 0 && got[name].Perm() != mode {
			t.Errorf("%s: %s has mode %v, want %v", what, name, got[name].Perm(), mode)
		}
	}
}

func sameAsRepo(t testing.TB, got []byte, repoFile string) {
	t.Helper()
	want, err := os.ReadFile(filepath.Join(root, repoFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s in the download differs from the repository's", repoFile)
	}
}

// settings reads a Go binary's build settings (go version -m).
func settings(t testing.TB, file string) map[string]string {
	t.Helper()
	bi, err := buildinfo.ReadFile(file)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	s := map[string]string{}
	for _, kv := range bi.Settings {
		s[kv.Key] = kv.Value
	}
	return s
}

// checkBuild checks that file was built for goos/goarch, with or without
// cgo, with -trimpath, and with this version and commit.
func checkBuild(t testing.TB, file, goos, goarch string, cgo bool) {
	t.Helper()
	s := settings(t, file)
	want := map[string]string{"GOOS": goos, "GOARCH": goarch, "CGO_ENABLED": "0", "-trimpath": "true"}
	if cgo {
		want["CGO_ENABLED"] = "1"
	}
	for k, v := range want {
		if s[k] != v {
			t.Errorf("%s: %s=%q, want %q", filepath.Base(file), k, s[k], v)
		}
	}
	// With -trimpath, go does not record -ldflags; the strings that -X set
	// are in the binary, though (the tests run the binaries they can).
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []string{version, commit} {
		if !bytes.Contains(raw, []byte(x)) {
			t.Errorf("%s does not hold %q: built without -X main.version/main.commit?", filepath.Base(file), x)
		}
	}
}

func TestDistHoldsEveryDownloadAndSHA256SUMSPasses(t *testing.T) {
	want := []string{"SHA256SUMS", zipName(), tarName(), debName(), msiName(), scoopName, wingetDir}
	for _, b := range ctlBuilds {
		want = append(want, ctlName(b.goos, b.goarch))
	}
	sort.Strings(want)
	entries, err := os.ReadDir(distDir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("dist/ holds\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}

	sums, err := os.ReadFile(dist("SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 || len(f[0]) != 64 {
			t.Fatalf("SHA256SUMS line %q is not 'HASH  FILE'", line)
		}
		listed = append(listed, f[1])
	}
	sort.Strings(listed)
	// Every file but itself; the winget folder is not a download (its
	// manifests go to winget-pkgs).
	files := slices.DeleteFunc(slices.Clone(want), func(s string) bool { return s == "SHA256SUMS" || s == wingetDir })
	if !slices.Equal(listed, files) {
		t.Errorf("SHA256SUMS lists %v, want %v", listed, files)
	}
	out := run(t, distDir, "sha256sum", "-c", "SHA256SUMS")
	if n := strings.Count(out, ": OK"); n != len(files) {
		t.Errorf("sha256sum -c confirmed %d files, want %d:\n%s", n, len(files), out)
	}

	// A dist build cleans up after itself.
	for _, pattern := range []string{"../.dist-stage.*", "../cmd/calmkey/*.syso", "../cmd/calmkeyctl/*.syso"} {
		if left, _ := filepath.Glob(pattern); len(left) > 0 {
			t.Errorf("make dist left %v behind", left)
		}
	}
}

// archOf reads the CPU architecture from an executable's header (ELF for
// linux, Mach-O for darwin, PE for windows), and for linux checks that it is
// statically linked, as a cgo-free Go program is.
func archOf(t testing.TB, file, goos string) string {
	t.Helper()
	var arch string
	var err error
	switch goos {
	case "linux":
		var f *elf.File
		if f, err = elf.Open(file); err == nil {
			defer f.Close()
			arch = map[elf.Machine]string{elf.EM_X86_64: "amd64", elf.EM_AARCH64: "arm64"}[f.Machine]
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					t.Errorf("%s is dynamically linked (cgo?)", file)
				}
			}
		}
	case "darwin":
		var f *macho.File
		if f, err = macho.Open(file); err == nil {
			defer f.Close()
			arch = map[macho.Cpu]string{macho.CpuAmd64: "amd64", macho.CpuArm64: "arm64"}[f.Cpu]
		}
	case "windows":
		var f *pe.File
		if f, err = pe.Open(file); err == nil {
			defer f.Close()
			arch = map[uint16]string{pe.IMAGE_FILE_MACHINE_AMD64: "amd64", pe.IMAGE_FILE_MACHINE_ARM64: "arm64"}[f.Machine]
		}
	}
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return arch
}

func TestCalmkeyctlForEveryOSIsCgoFree(t *testing.T) {
	for _, b := range ctlBuilds {
		file := dist(ctlName(b.goos, b.goarch))
		checkBuild(t, file, b.goos, b.goarch, false)
		if got := archOf(t, file, b.goos); got != b.goarch {
			t.Errorf("%s: the executable is for %s, want %s", file, got, b.goarch)
		}
	}
	ctl, err := filepath.Abs(dist(ctlName("linux", "amd64")))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(run(t, "", ctl, "version")); got != versionLine("calmkeyctl") {
		t.Errorf("calmkeyctl version printed %q, want %q", got, versionLine("calmkeyctl"))
	}
}

var windowsFiles once

// unzipped extracts the Windows zip once and returns its folder.
func unzipped(t testing.TB) string {
	return windowsFiles.get(t, func(dir string) error {
		z, err := zip.OpenReader(dist(zipName()))
		if err != nil {
			return err
		}
		defer z.Close()
		for _, f := range z.File {
			if strings.ContainsAny(f.Name, `/\`) {
				return fmt.Errorf("zip entry %q is in a folder; the zip is flat", f.Name)
			}
			r, err := f.Open()
			if err != nil {
				return err
			}
			b, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, f.Name), b, 0o755); err != nil {
				return err
			}
		}
		return nil
	})
}

func TestWindowsZip(t *testing.T) {
	dir := unzipped(t)
	expectFiles(t, "the zip", filesUnder(t, dir), map[string]os.FileMode{
		"calmkey.exe": 0, "calmkeyctl.exe": 0, "README.md": 0, "LICENSE": 0,
	})
	for _, name := range []string{"README.md", "LICENSE"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		sameAsRepo(t, b, name)
	}

	exe := filepath.Join(dir, "calmkey.exe")
	checkBuild(t, exe, "windows", "amd64", true)
	for _, f := range []string{exe, filepath.Join(dir, "calmkeyctl.exe")} {
		if got := archOf(t, f, "windows"); got != "amd64" {
			t.Errorf("%s is for %s, want amd64", filepath.Base(f), got)
		}
	}
	if got := subsystem(t, exe); got != pe.IMAGE_SUBSYSTEM_WINDOWS_GUI {
		t.Errorf("calmkey.exe: subsystem %d, want the GUI subsystem (%d): a console would flash", got, pe.IMAGE_SUBSYSTEM_WINDOWS_GUI)
	}
	checkResources(t, exe, "calmkey.exe", true)

	ctl := filepath.Join(dir, "calmkeyctl.exe")
	checkBuild(t, ctl, "windows", "amd64", false)
	if got := subsystem(t, ctl); got != pe.IMAGE_SUBSYSTEM_WINDOWS_CUI {
		t.Errorf("calmkeyctl.exe: subsystem %d, want the console subsystem (%d)", got, pe.IMAGE_SUBSYSTEM_WINDOWS_CUI)
	}
	checkResources(t, ctl, "calmkeyctl.exe", false)
}

// The arm64 calmkeyctl.exe has the same resources as the amd64 one.
func TestWindowsArm64CalmkeyctlResources(t *testing.T) {
	checkResources(t, dist(ctlName("windows", "arm64")), "calmkeyctl.exe", false)
}

func subsystem(t testing.TB, exe string) uint16 {
	t.Helper()
	f, err := pe.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
	if !ok {
		t.Fatalf("%s has no PE32+ optional header", exe)
	}
	return oh.Subsystem
}

// checkResources reads an executable's resources: the icon, the version
// information naming it, and a manifest, which for the app (gui) declares
// per-monitor DPI awareness.
func checkResources(t testing.TB, exe, name string, gui bool) {
	t.Helper()
	f, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rs, err := winres.LoadFromEXE(f)
	if err != nil {
		t.Fatalf("%s resources: %v", name, err)
	}

	var manifests, versions [][]byte
	icons := 0
	rs.WalkType(winres.RT_MANIFEST, func(_ winres.Identifier, _ uint16, data []byte) bool {
		manifests = append(manifests, data)
		return true
	})
	rs.WalkType(winres.RT_VERSION, func(_ winres.Identifier, _ uint16, data []byte) bool {
		versions = append(versions, data)
		return true
	})
	rs.WalkType(winres.RT_GROUP_ICON, func(id winres.Identifier, _ uint16, _ []byte) bool {
		icon, err := rs.GetIcon(id)
		if err != nil {
			t.Errorf("%s icon %v: %v", name, id, err)
			return true
		}
		var ico bytes.Buffer
		if err := icon.SaveICO(&ico); err != nil {
			t.Errorf("%s icon %v: %v", name, id, err)
		}
		if ico.Len() > 1000 {
			icons++
		}
		return true
	})
	if icons != 1 {
		t.Errorf("%s has %d icons, want 1", name, icons)
	}

	if len(manifests) != 1 {
		t.Fatalf("%s has %d manifests, want 1", name, len(manifests))
	}
	m, err := winres.AppManifestFromXML(manifests[0])
	if err != nil {
		t.Fatalf("%s manifest: %v", name, err)
	}
	if gui && m.DPIAwareness != winres.DPIPerMonitorV2 {
		t.Errorf("calmkey.exe manifest declares DPI awareness %v, want per-monitor v2:\n%s", m.DPIAwareness, manifests[0])
	}

	if len(versions) != 1 {
		t.Fatalf("%s has %d version resources, want 1", name, len(versions))
	}
	vi, err := winversion.FromBytes(versions[0])
	if err != nil {
		t.Fatalf("%s version information: %v", name, err)
	}
	js, err := vi.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"ProductVersion":"` + version + `"`, `"ProductName":"calmkey"`, `"OriginalFilename":"` + name + `"`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("%s version information lacks %s: %s", name, want, js)
		}
	}
}

var tarFiles once

func untarred(t testing.TB) string {
	return tarFiles.unpack(t, "tar", "-xJf", dist(tarName()), "-C")
}

func TestLinuxTarball(t *testing.T) {
	dir := untarred(t)
	expectFiles(t, "the tarball", filesUnder(t, dir), map[string]os.FileMode{
		"calmkey/Makefile":              0o644,
		"calmkey/usr/local/bin/calmkey": 0o755,
		"calmkey/usr/local/share/applications/" + appID + ".desktop": 0o644,
		"calmkey/usr/local/share/pixmaps/" + appID + ".png":          0o644,
	})
	checkBuild(t, filepath.Join(dir, "calmkey/usr/local/bin/calmkey"), "linux", "amd64", true)
	checkDesktopEntry(t, filepath.Join(dir, "calmkey/usr/local/share/applications/"+appID+".desktop"))
	checkIcon(t, filepath.Join(dir, "calmkey/usr/local/share/pixmaps/"+appID+".png"))

	// Its Makefile installs the app as a user would (sudo make install),
	// here into a throwaway DESTDIR.
	dest := t.TempDir()
	run(t, filepath.Join(dir, "calmkey"), "make", "install", "DESTDIR="+dest, "PREFIX=/usr")
	expectFiles(t, "make install", filesUnder(t, dest), map[string]os.FileMode{
		"usr/bin/calmkey": 0o755,
		"usr/share/applications/" + appID + ".desktop": 0o644,
		"usr/share/pixmaps/" + appID + ".png":          0o644,
	})
	if got := strings.TrimSpace(run(t, "", filepath.Join(dest, "usr/bin/calmkey"), "--version")); got != versionLine("calmkey") {
		t.Errorf("calmkey --version printed %q, want %q", got, versionLine("calmkey"))
	}
}

// checkDesktopEntry checks the fields a desktop needs to list and start the
// app, and runs desktop-file-validate on it.
func checkDesktopEntry(t testing.TB, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			fields[k] = v
		}
	}
	for k, v := range map[string]string{"Type": "Application", "Name": "calmkey", "Exec": "calmkey", "Icon": appID} {
		if fields[k] != v {
			t.Errorf("%s: %s=%q, want %q", filepath.Base(file), k, fields[k], v)
		}
	}
	if !strings.Contains(fields["Comment"], "SAP Cloud ALM") {
		t.Errorf("%s: Comment=%q does not say what the app is for", filepath.Base(file), fields["Comment"])
	}
	if _, err := exec.LookPath("desktop-file-validate"); err != nil {
		t.Fatal("desktop-file-validate is missing: run scripts/deps.sh dist (desktop-file-utils)")
	}
	// It prints errors, warnings and hints; hints are suggestions (it would
	// like Security, a sub-category, to come with System or Settings too).
	out, err := exec.Command("desktop-file-validate", file).CombinedOutput()
	if err != nil || regexp.MustCompile(`(?m)\b(error|warning):`).Match(out) {
		t.Errorf("desktop-file-validate %s: %v\n%s", filepath.Base(file), err, out)
	}
}

// checkIcon checks that file is the app's 512x512 PNG icon.
func checkIcon(t testing.TB, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil || format != "png" || cfg.Width != 512 || cfg.Height != 512 {
		t.Errorf("%s: %s %dx%d (%v), want a 512x512 png", file, format, cfg.Width, cfg.Height, err)
	}
	sameAsRepo(t, b, "assets/icon.png")
}

var debFiles once

// debRoot unpacks the .deb into a throwaway root, as dpkg would install it.
func debRoot(t testing.TB) string {
	return debFiles.unpack(t, "dpkg-deb", "-x", dist(debName()))
}

func TestDebContents(t *testing.T) {
	r := debRoot(t)
	expectFiles(t, "the .deb", filesUnder(t, r), map[string]os.FileMode{
		"usr/bin/calmkey":                                        0o755,
		"usr/bin/calmkeyctl":                                     0o755,
		"usr/share/applications/" + appID + ".desktop":           0o644,
		"usr/share/icons/hicolor/512x512/apps/" + appID + ".png": 0o644,
		"usr/share/doc/calmkey/copyright":                        0o644,
		"usr/share/doc/calmkey/README.md":                        0o644,
	})
	checkDesktopEntry(t, filepath.Join(r, "usr/share/applications/"+appID+".desktop"))
	checkIcon(t, filepath.Join(r, "usr/share/icons/hicolor/512x512/apps/"+appID+".png"))
	lic, err := os.ReadFile(filepath.Join(r, "usr/share/doc/calmkey/copyright"))
	if err != nil {
		t.Fatal(err)
	}
	sameAsRepo(t, lic, "LICENSE")

	// The same app as in the tarball.
	app, err := os.ReadFile(filepath.Join(r, "usr/bin/calmkey"))
	if err != nil {
		t.Fatal(err)
	}
	tarApp, err := os.ReadFile(filepath.Join(untarred(t), "calmkey/usr/local/bin/calmkey"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(app, tarApp) {
		t.Error("the .deb's calmkey differs from the tarball's")
	}
	checkBuild(t, filepath.Join(r, "usr/bin/calmkeyctl"), "linux", "amd64", false)

	ctl := filepath.Join(r, "usr/bin/calmkeyctl")
	if got := strings.TrimSpace(run(t, "", ctl, "version")); got != versionLine("calmkeyctl") {
		t.Errorf("calmkeyctl version printed %q, want %q", got, versionLine("calmkeyctl"))
	}
	if got := strings.TrimSpace(run(t, "", filepath.Join(r, "usr/bin/calmkey"), "--version")); got != versionLine("calmkey") {
		t.Errorf("calmkey --version printed %q, want %q", got, versionLine("calmkey"))
	}
}

// control reads the .deb's control fields.
func control(t testing.TB) map[string]string {
	t.Helper()
	out := run(t, "", "dpkg-deb", "-f", dist(debName()))
	fields := map[string]string{}
	key := ""
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, " ") && key != "" {
			fields[key] += "\n" + line
		} else if k, v, ok := strings.Cut(line, ":"); ok {
			key = k
			fields[k] = strings.TrimSpace(v)
		}
	}
	return fields
}

// TestDebDeclaresItsLibraries checks that every shared library the app links
// or that GLFW loads (the X11 ones it names) comes from a package the .deb
// depends on, and that the declared glibc is new enough for its symbols.
func TestDebDeclaresItsLibraries(t *testing.T) {
	c := control(t)
	for k, v := range map[string]string{"Package": "calmkey", "Version": version, "Architecture": "amd64"} {
		if c[k] != v {
			t.Errorf("control %s: %q, want %q", k, c[k], v)
		}
	}
	depends := map[string]string{} // package -> version constraint
	for _, d := range strings.Split(c["Depends"], ",") {
		name, constraint, _ := strings.Cut(strings.TrimSpace(d), " ")
		depends[name] = constraint
	}

	app := filepath.Join(debRoot(t), "usr/bin/calmkey")
	f, err := elf.Open(app)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(libs, "libGL.so.1") || !slices.Contains(libs, "libX11.so.6") {
		t.Errorf("calmkey links %v; expected libGL and libX11 among them", libs)
	}
	raw, err := os.ReadFile(app)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`\blibX[A-Za-z0-9_-]*\.so\.[0-9]+\b`).FindAll(raw, -1) {
		if !slices.Contains(libs, string(m)) {
			libs = append(libs, string(m))
		}
	}
	for _, lib := range libs {
		pkg := packageOf(t, lib)
		if _, ok := depends[pkg]; !ok {
			t.Errorf("calmkey uses %s from %s, which the .deb does not depend on (Depends: %s)", lib, pkg, c["Depends"])
		}
	}

	syms, err := f.ImportedSymbols()
	if err != nil {
		t.Fatal(err)
	}
	newest := "GLIBC_2.0"
	for _, s := range syms {
		if strings.HasPrefix(s.Version, "GLIBC_2.") && versionLess(newest, s.Version) {
			newest = s.Version
		}
	}
	want := "(>= " + strings.TrimPrefix(newest, "GLIBC_") + ")"
	if got := depends["libc6"]; got != want {
		t.Errorf("Depends: libc6 %s, but calmkey needs symbols of %s: want libc6 %s", got, newest, want)
	}
}

// versionLess compares GLIBC_x.y[.z] version names numerically.
func versionLess(a, b string) bool {
	num := func(s string) []int {
		var n []int
		for _, p := range strings.Split(strings.TrimPrefix(s, "GLIBC_"), ".") {
			var i int
			fmt.Sscan(p, &i)
			n = append(n, i)
		}
		return n
	}
	return slices.Compare(num(a), num(b)) < 0
}

// packageOf names the Debian package that installed lib on this machine.
func packageOf(t testing.TB, lib string) string {
	t.Helper()
	out, err := exec.Command("dpkg-query", "-S", "*/"+lib).Output()
	if err != nil {
		t.Fatalf("no installed package holds %s (dpkg-query -S): %v", lib, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if pkg, _, ok := strings.Cut(line, ":"); ok && strings.HasSuffix(line, "-linux-gnu/"+lib) {
			return pkg
		}
	}
	t.Fatalf("dpkg-query -S found no x86_64 %s:\n%s", lib, out)
	return ""
}

// TestDebInstallsWithApt asks apt, without installing, whether the .deb and
// its dependencies can be installed here.
func TestDebInstallsWithApt(t *testing.T) {
	deb, err := filepath.Abs(dist(debName()))
	if err != nil {
		t.Fatal(err)
	}
	out := run(t, "", "apt-get", "install", "--simulate", "--no-install-recommends", deb)
	if !regexp.MustCompile(`(?m)^Inst calmkey \(` + regexp.QuoteMeta(version) + `\b`).MatchString(out) {
		t.Errorf("apt-get install --simulate would not install calmkey %s:\n%s", version, out)
	}
}

// TestDebApp starts the .deb's app from the unpacked root on the test
// session's display: with no key, then with a key its calmkeyctl stored.
func TestDebApp(t *testing.T) {
	wt.RequireTools(t)
	r := debRoot(t)
	app := []string{filepath.Join(r, "usr/bin/calmkey")}
	t.Run("no key", func(t *testing.T) {
		w := wt.Launch(t, app, wt.ServiceEnv(wt.Service(t)))
		text := wt.ExpectNoKey(t, w, "deb-no-key.png")
		wt.MustContain(t, text, versionLine("calmkey")) // the footer
	})
	t.Run("key stored by calmkeyctl", func(t *testing.T) {
		svc := wt.StoreWithCLI(t, filepath.Join(r, "usr/bin/calmkeyctl"))
		w := wt.Launch(t, app, svc)
		wt.ExpectStoredKey(t, w, "deb-with-key.png")
	})
}

var (
	prefixOnce once
	wineUsed   bool
)

// winePrefix sets the test up to run Windows programs: a throwaway Wine
// prefix (made once by scripts/wine/prefix, with the ProcessPrng DLL that Go
// programs need under Wine 8) in WINEPREFIX, and, when the test ends, a wait
// for the wineserver to exit, so that the next start is a fresh one.
func winePrefix(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"wine", "wineserver"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: install wine and wine64 (scripts/deps.sh test)", tool)
		}
	}
	dir := prefixOnce.get(t, func(dir string) error {
		out, err := exec.Command(filepath.Join(root, "scripts/wine/prefix"), dir).CombinedOutput()
		if err != nil {
			return fmt.Errorf("scripts/wine/prefix: %v\n%s", err, out)
		}
		return nil
	})
	wineUsed = true
	t.Setenv("WINEPREFIX", dir)
	t.Setenv("WINEDEBUG", "-all")
	t.Setenv("WINEDLLOVERRIDES", "mscoree,mshtml=;winemenubuilder.exe=d")
	// Registered before any launch, so it runs after their stops.
	t.Cleanup(func() {
		if err := waitWineserver(60 * time.Second); err != nil {
			t.Errorf("wineserver: %v", err)
		}
	})
}

// waitWineserver waits for the prefix's wineserver (and the Windows services
// it runs) to exit by themselves.
func waitWineserver(limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "wineserver", "-w").CombinedOutput(); err != nil {
		return fmt.Errorf("did not exit within %v (%v): %s", limit, err, out)
	}
	return nil
}

// stopWine ends the test prefix's wineserver, if a test started one, before
// TestMain removes the prefix.
func stopWine() {
	if !wineUsed || prefixOnce.dir == "" {
		return
	}
	kill := exec.Command("wineserver", "-k")
	kill.Env = append(os.Environ(), "WINEPREFIX="+prefixOnce.dir)
	_ = kill.Run()
}

func windowsExe(t testing.TB, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(unzipped(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWindowsAppVersion(t *testing.T) {
	winePrefix(t)
	out := run(t, "", "wine", windowsExe(t, "calmkeyctl.exe"), "version")
	if got := strings.TrimSpace(out); got != versionLine("calmkeyctl") {
		t.Errorf("calmkeyctl.exe version printed %q, want %q", got, versionLine("calmkeyctl"))
	}
	out = run(t, "", "wine", windowsExe(t, "calmkey.exe"), "--version")
	if got := strings.TrimSpace(out); got != versionLine("calmkey") {
		t.Errorf("calmkey.exe --version printed %q, want %q", got, versionLine("calmkey"))
	}
}

func TestWindowsAppWithoutKey(t *testing.T) {
	wt.RequireTools(t)
	winePrefix(t)
	w := wt.Launch(t, []string{"wine", windowsExe(t, "calmkey.exe")}, wt.ServiceEnv(wt.Service(t)))
	t.Logf("calmkey.exe showed its window after %v", w.Shown)
	text := wt.ExpectNoKey(t, w, "windows-no-key.png")
	wt.MustContain(t, text, versionLine("calmkey")) // the footer
}

func TestWindowsAppWithKeyStoredByCalmkeyctlExe(t *testing.T) {
	withStoredKey(t, "windows-with-key.png")
}

// BenchmarkStartupWineVsLinux measures the time from exec to a visible window
// of calmkey.exe under Wine and of the .deb's Linux app, for information:
// compare the sub-benchmarks' ms/window. Each is started once unmeasured
// first; under Wine every start waits for the previous wineserver to exit.
func BenchmarkStartupWineVsLinux(b *testing.B) {
	wt.RequireTools(b)
	winePrefix(b)
	svc := wt.ServiceEnv(wt.Service(b))
	apps := []struct {
		name string
		argv []string
	}{
		{"linux", []string{filepath.Join(debRoot(b), "usr/bin/calmkey")}},
		{"wine", []string{"wine", windowsExe(b, "calmkey.exe")}},
	}
	start := func(b *testing.B, argv []string) time.Duration {
		r := wt.Launch(b, argv, svc)
		wt.Stop(r)
		if argv[0] == "wine" {
			if err := waitWineserver(60 * time.Second); err != nil {
				b.Fatal(err)
			}
		}
		return r.Shown
	}
	for _, a := range apps {
		start(b, a.argv)
	}
	for _, a := range apps {
		b.Run(a.name, func(b *testing.B) {
			var shown time.Duration
			for i := 0; i < b.N; i++ {
				shown += start(b, a.argv)
			}
			b.ReportMetric(float64(shown.Milliseconds())/float64(b.N), "ms/window")
		})
	}
}
