package main

// Real-window tests: the built app is started under the test session's Xvfb
// display with its real Secret Service, found with xdotool, photographed with
// ImageMagick's import and read back with tesseract. They need the test
// session (scripts/test-session, run by make test).

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/image/draw"

	"github.com/calmkey/calmkey/internal/harness"
	"github.com/calmkey/calmkey/internal/testkeys"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds calmkey, calmkeyctl and the bare yardstick window once per
// test binary, the way make build does.
func binaries(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "calmkey-bin")
		if buildErr != nil {
			return
		}
		root, err := filepath.Abs("../..")
		if err != nil {
			buildErr = err
			return
		}
		for _, b := range []struct{ out, pkg string }{
			{"calmkey", "./cmd/calmkey"},
			{"bare", "./cmd/calmkey/testdata/bare"},
			{"calmkeyctl", "./cmd/calmkeyctl"},
		} {
			cmd := exec.Command("go", "build", "-tags", "migrated_fynedo", "-o", filepath.Join(binDir, b.out), b.pkg)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func requireTools(t testing.TB) {
	t.Helper()
	harness.Require(t)
	for _, tool := range []string{"xdotool", "import", "tesseract"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: run scripts/deps.sh test", tool)
		}
	}
}

// service returns a keychain service name of the test's own, so that runs
// never see each other's keys.
func service(t testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "calmkey-test-" + hex.EncodeToString(b)
}

type running struct {
	cmd    *exec.Cmd
	out    bytes.Buffer
	window string
	shown  time.Duration // from start to a visible window
}

// launch starts bin and waits for its visible window. It stops the process,
// and waits for it to be gone, when the test ends: a Fyne app started while
// the previous one still shuts down can stay unshown.
func launch(t testing.TB, bin string, env ...string) *running {
	t.Helper()
	r := &running{cmd: exec.Command(bin)}
	r.cmd.Env = append(os.Environ(), "LANG=en_US.UTF-8")
	r.cmd.Env = append(r.cmd.Env, env...)
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	start := time.Now()
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(r) })
	deadline := start.Add(30 * time.Second)
	pid := strconv.Itoa(r.cmd.Process.Pid)
	for time.Now().Before(deadline) {
		out, _ := exec.Command("xdotool", "search", "--all", "--onlyvisible", "--pid", pid, "--name", ".").Output()
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			r.window, r.shown = ids[0], time.Since(start)
			return r
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop(r)
	t.Fatalf("%s showed no window within 30 s; its output:\n%s", filepath.Base(bin), r.out.String())
	return nil
}

func stop(r *running) {
	if r.cmd.ProcessState != nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-done
	}
}

// rssKB reads the resident memory of the running process.
func (r *running) rssKB(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}

// screenshot photographs the window and returns the PNG.
func (r *running) screenshot(t testing.TB) []byte {
	t.Helper()
	out, err := exec.Command("import", "-window", r.window, "png:-").Output()
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return out
}

// checkNotBlank fails when the picture is one flat colour or nearly so: a
// window that never drew its content.
func checkNotBlank(t testing.TB, shot []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	b := img.Bounds()
	if b.Dx() < 200 || b.Dy() < 150 {
		t.Fatalf("window is only %dx%d", b.Dx(), b.Dy())
	}
	counts := map[[4]uint32]int{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			counts[[4]uint32{r >> 8, g >> 8, bl >> 8, a >> 8}]++
		}
	}
	most := 0
	for _, n := range counts {
		most = max(most, n)
	}
	other := 1 - float64(most)/float64(b.Dx()*b.Dy())
	if len(counts) < 16 || other < 0.01 {
		t.Fatalf("screenshot looks blank: %d colours, %.2f%% of pixels off the background", len(counts), other*100)
	}
}

// readText OCRs the screenshot, enlarged first: Fyne's text at scale 1 is
// small for tesseract.
func readText(t testing.TB, shot []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	b := img.Bounds()
	big := image.NewRGBA(image.Rect(0, 0, 2*b.Dx(), 2*b.Dy()))
	draw.CatmullRom.Scale(big, big.Bounds(), img, b, draw.Src, nil)
	var enlarged bytes.Buffer
	if err := png.Encode(&enlarged, big); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ocr := exec.CommandContext(ctx, "tesseract", "stdin", "stdout")
	ocr.Stdin = &enlarged
	ocr.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
	text, err := ocr.Output()
	if err != nil {
		t.Fatalf("tesseract: %v", err)
	}
	return string(text)
}

// saveShot keeps the screenshot where CALMKEY_SCREENSHOTS points (make
// screenshots uses it for the README), and beside the test's temp dir otherwise.
func saveShot(t testing.TB, name string, shot []byte) {
	dir := os.Getenv("CALMKEY_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.WriteFile(filepath.Join(dir, name), shot, 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustContain(t testing.TB, text string, want ...string) {
	t.Helper()
	flat := strings.Join(strings.Fields(text), " ")
	for _, w := range want {
		if !strings.Contains(flat, w) {
			t.Errorf("the window does not show %q; it reads:\n%s", w, text)
		}
	}
}

func mustNotContain(t testing.TB, text string, unwanted ...string) {
	t.Helper()
	flat := strings.ToLower(strings.Join(strings.Fields(text), " "))
	for _, w := range unwanted {
		if strings.Contains(flat, strings.ToLower(w)) {
			t.Errorf("the window shows %q; it reads:\n%s", w, text)
		}
	}
}

// settle gives the window time to load the key from the keychain and draw it.
func settle(t testing.TB, r *running, want string) string {
	t.Helper()
	var text string
	var shot []byte
	for i := 0; i < 10; i++ {
		time.Sleep(500 * time.Millisecond)
		shot = r.screenshot(t)
		text = readText(t, shot)
		if strings.Contains(strings.Join(strings.Fields(text), " "), want) {
			break
		}
	}
	checkNotBlank(t, shot)
	return text
}

// storeWithCLI uploads a secret key with calmkeyctl, as an admin would, under
// a keychain service of the test's own, and returns the environment setting
// that names that service.
func storeWithCLI(t testing.TB, bin string) string {
	t.Helper()
	svc := "CALMKEY_KEYCHAIN_SERVICE=" + service(t)
	file := filepath.Join(t.TempDir(), "key.txt")
	if err := os.WriteFile(file, testkeys.SecretKey(testkeys.Fields{}), 0o600); err != nil {
		t.Fatal(err)
	}
	up := exec.Command(filepath.Join(bin, "calmkeyctl"), "upload", file)
	up.Env = append(os.Environ(), svc)
	if out, err := up.CombinedOutput(); err != nil {
		t.Fatalf("calmkeyctl upload: %v\n%s", err, out)
	}
	return svc
}

var errorWords = []string{"cannot be reached", "did not answer", "panic", "damaged"}

func TestWindowWithoutKey(t *testing.T) {
	requireTools(t)
	bin := binaries(t)
	r := launch(t, filepath.Join(bin, "calmkey"), "CALMKEY_KEYCHAIN_SERVICE="+service(t))
	text := settle(t, r, "No service key")
	saveShot(t, "window-no-key.png", r.screenshot(t))
	mustContain(t, text, "SAP Cloud ALM Service Key", "No service key")
	mustNotContain(t, text, errorWords...)
}

func TestWindowWithKeyStoredByCLI(t *testing.T) {
	requireTools(t)
	bin := binaries(t)
	svc := storeWithCLI(t, bin)
	r := launch(t, filepath.Join(bin, "calmkey"), svc)
	text := settle(t, r, testkeys.Tenant)
	shot := r.screenshot(t)
	saveShot(t, "window-with-key.png", shot)
	mustContain(t, text, "SAP Cloud ALM Service Key", testkeys.Tenant)
	mustNotContain(t, text, append(errorWords, testkeys.Secret, "No service key")...)
}

// TestWindowKeychainUnavailable proves the checks above can fail: with no
// D-Bus the app must still open and say what is wrong.
func TestWindowKeychainUnavailable(t *testing.T) {
	requireTools(t)
	bin := binaries(t)
	r := launch(t, filepath.Join(bin, "calmkey"),
		"CALMKEY_KEYCHAIN_SERVICE="+service(t),
		"DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	text := settle(t, r, "cannot be reached")
	saveShot(t, "window-no-keychain.png", r.screenshot(t))
	mustContain(t, text, "SAP Cloud ALM Service Key", "cannot be reached")
}

// BenchmarkStartup measures, for the app with a stored key and for a bare
// Fyne window with one label, the time from exec to a visible window and the
// resident memory once idle. Compare the two sub-benchmarks' ms/window and
// rss-MB; the target is within 1.2x of bare on both.
func BenchmarkStartup(b *testing.B) {
	requireTools(b)
	bin := binaries(b)
	svc := storeWithCLI(b, bin)
	names := []string{"bare", "calmkey"}
	// One unmeasured start of each first, so that neither pays alone for a
	// cold disk cache or the font cache being built.
	for _, name := range names {
		stop(launch(b, filepath.Join(bin, name), svc))
	}
	for _, name := range names {
		b.Run(name, func(b *testing.B) {
			var shown time.Duration
			var rss int
			for i := 0; i < b.N; i++ {
				r := launch(b, filepath.Join(bin, name), svc)
				shown += r.shown
				time.Sleep(2 * time.Second) // idle: key loaded, first frames drawn
				rss += r.rssKB(b)
				stop(r)
			}
			b.ReportMetric(float64(shown.Milliseconds())/float64(b.N), "ms/window")
			b.ReportMetric(float64(rss)/1024/float64(b.N), "rss-MB")
		})
	}
}
