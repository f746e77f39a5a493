// Package windowtest starts the desktop app for real on the test session's
// Xvfb display, finds its window with xdotool, photographs it with
// ImageMagick's import and reads it back with tesseract. The Linux window
// tests (cmd/calmkey), the Windows app test under Wine and the release
// package tests (packaging) share it. Everything here needs the test session
// (scripts/test-session); RequireTools checks for it.
package windowtest

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
	"github.com/calmkey/calmkey/vault"
)

// ErrorWords are what the window shows when something went wrong; a healthy
// window shows none of them.
var ErrorWords = []string{"cannot be reached", "did not answer", "panic", "damaged"}

// RequireTools stops the test unless the test session and the tools to look
// at a window are there (a failure in CI, see harness.Require).
func RequireTools(t testing.TB) {
	t.Helper()
	harness.Require(t)
	for _, tool := range []string{"xdotool", "import", "tesseract", "xclip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: run scripts/deps.sh test", tool)
		}
	}
}

// Service returns a keychain service name of the test's own, so that runs
// never see each other's keys.
func Service(t testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "calmkey-test-" + hex.EncodeToString(b)
}

// ServiceEnv is the environment setting that points the app and calmkeyctl
// at the keychain service svc.
func ServiceEnv(svc string) string { return vault.ServiceEnv + "=" + svc }

// Running is a started app with a visible window.
type Running struct {
	Cmd    *exec.Cmd
	Out    bytes.Buffer  // stdout and stderr; read it only after Stop
	Window string        // the X window id
	Shown  time.Duration // from start to a visible window

	start    time.Time
	waitOnce sync.Once
	done     chan struct{}
}

// Launch starts argv (a program and its arguments, e.g. "wine", "calmkey.exe")
// with env added to the test's environment, and waits for a visible window of
// that process. It stops the process, and waits for it to be gone, when the
// test ends: a Fyne app started while the previous one still shuts down can
// stay unshown.
func Launch(t testing.TB, argv []string, env ...string) *Running {
	t.Helper()
	r := Start(t, argv, env...)
	if !r.WaitWindow(60 * time.Second) {
		Stop(r)
		t.Fatalf("%s showed no window within 60 s; its output:\n%s", filepath.Base(argv[len(argv)-1]), r.Out.String())
	}
	return r
}

// Start starts argv as Launch does, without waiting for a window.
func Start(t testing.TB, argv []string, env ...string) *Running {
	t.Helper()
	r := &Running{Cmd: exec.Command(argv[0], argv[1:]...)}
	r.Cmd.Env = append(os.Environ(), "LANG=en_US.UTF-8")
	r.Cmd.Env = append(r.Cmd.Env, env...)
	r.Cmd.Stdout, r.Cmd.Stderr = &r.Out, &r.Out
	r.start = time.Now()
	if err := r.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Stop(r) })
	return r
}

// WaitWindow waits up to d for a visible window of the process and reports
// whether one came; it sets Window and Shown.
func (r *Running) WaitWindow(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ids := Visible(r.Cmd.Process.Pid); len(ids) > 0 {
			r.Window, r.Shown = ids[0], time.Since(r.start)
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// Visible lists the visible windows of the process pid.
func Visible(pid int) []string {
	out, _ := exec.Command("xdotool", "search", "--all", "--onlyvisible", "--pid", strconv.Itoa(pid), "--name", ".").Output()
	return strings.Fields(string(out))
}

// WaitExit waits up to d for the process to exit and returns its exit
// code; exited is false when it still runs.
func (r *Running) WaitExit(d time.Duration) (code int, exited bool) {
	select {
	case <-r.wait():
		return r.Cmd.ProcessState.ExitCode(), true
	case <-time.After(d):
		return -1, false
	}
}

// wait returns a channel closed when the process has exited.
func (r *Running) wait() <-chan struct{} {
	r.waitOnce.Do(func() {
		r.done = make(chan struct{})
		go func() { _ = r.Cmd.Wait(); close(r.done) }()
	})
	return r.done
}

// Stacking lists the display's top-level windows from the top down, as
// xwininfo prints them (ids as decimal numbers, as xdotool gives them).
func Stacking(t testing.TB) []string {
	t.Helper()
	if _, err := exec.LookPath("xwininfo"); err != nil {
		t.Fatal("xwininfo is missing: run scripts/deps.sh test")
	}
	out, err := exec.Command("xwininfo", "-root", "-children").Output()
	if err != nil {
		t.Fatalf("xwininfo: %v", err)
	}
	var ids []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], "0x") {
			continue
		}
		if id, err := strconv.ParseUint(f[0], 0, 64); err == nil {
			ids = append(ids, strconv.FormatUint(id, 10))
		}
	}
	return ids
}

// Stop ends the app (SIGTERM, then SIGKILL after 10 s) and waits for it.
func Stop(r *Running) {
	select {
	case <-r.wait():
		return
	default:
	}
	_ = r.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.wait():
	case <-time.After(10 * time.Second):
		_ = r.Cmd.Process.Kill()
		<-r.wait()
	}
}

// RSSKB reads the resident memory of the running process.
func (r *Running) RSSKB(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.Cmd.Process.Pid))
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

// Screenshot photographs the window and returns the PNG.
func (r *Running) Screenshot(t testing.TB) []byte {
	t.Helper()
	out, err := exec.Command("import", "-window", r.Window, "png:-").Output()
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return out
}

// CheckNotBlank fails when the picture is one flat colour or nearly so: a
// window that never drew its content.
func CheckNotBlank(t testing.TB, shot []byte) {
	t.Helper()
	if err := Blank(shot); err != nil {
		t.Fatal(err)
	}
}

// Blank returns an error when the picture is not a PNG of a window that drew
// its content, and nil when it is.
func Blank(shot []byte) error {
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		return fmt.Errorf("screenshot is not a PNG: %v", err)
	}
	b := img.Bounds()
	if b.Dx() < 200 || b.Dy() < 150 {
		return fmt.Errorf("window is only %dx%d", b.Dx(), b.Dy())
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
		return fmt.Errorf("screenshot looks blank: %d colours, %.2f%% of pixels off the background", len(counts), other*100)
	}
	return nil
}

// ReadText OCRs the screenshot, enlarged first: Fyne's text at scale 1 is
// small for tesseract.
func ReadText(t testing.TB, shot []byte) string {
	t.Helper()
	return string(tesseract(t, shot))
}

// ReadTextIn is ReadText with tesseract's languages named ("deu+eng"):
// the English model misreads umlauts.
func ReadTextIn(t testing.TB, shot []byte, langs string) string {
	t.Helper()
	return string(tesseract(t, shot, "-l", langs))
}

// tesseract runs the OCR on the screenshot enlarged twice, with configs
// (e.g. "tsv") after the output name.
func tesseract(t testing.TB, shot []byte, configs ...string) []byte {
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
	ocr := exec.CommandContext(ctx, "tesseract", append([]string{"stdin", "stdout"}, configs...)...)
	ocr.Stdin = &enlarged
	ocr.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
	text, err := ocr.Output()
	if err != nil {
		t.Fatalf("tesseract: %v", err)
	}
	return text
}

// SaveShot keeps the screenshot in the folder CALMKEY_SCREENSHOTS names, and
// in the test's temp dir otherwise. There is no make target for it: to
// refresh the README's docs/screenshot.png, run
//
//	CALMKEY_SCREENSHOTS=$PWD/docs scripts/test-session go test -tags migrated_fynedo -run TestWindowWithKeyStoredByCLI ./cmd/calmkey
//
// and rename docs/window-with-key.png to docs/screenshot.png.
func SaveShot(t testing.TB, name string, shot []byte) {
	dir := os.Getenv("CALMKEY_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.WriteFile(filepath.Join(dir, name), shot, 0o644); err != nil {
		t.Fatal(err)
	}
}

// MustContain fails the test for each of want that the OCR text lacks.
func MustContain(t testing.TB, text string, want ...string) {
	t.Helper()
	flat := strings.Join(strings.Fields(text), " ")
	// OCR also splits or joins words now and then ("9de7ae1 3f6c8" for a
	// commit 9de7ae13f6c8): a match without any spaces counts too.
	bare := strings.Join(strings.Fields(text), "")
	for _, w := range want {
		if !strings.Contains(flat, w) && !strings.Contains(bare, strings.Join(strings.Fields(w), "")) {
			t.Errorf("the window does not show %q; it reads:\n%s", w, text)
		}
	}
}

// MustNotContain fails the test for each of unwanted that the OCR text holds
// (in any case).
func MustNotContain(t testing.TB, text string, unwanted ...string) {
	t.Helper()
	flat := strings.ToLower(strings.Join(strings.Fields(text), " "))
	for _, w := range unwanted {
		if strings.Contains(flat, strings.ToLower(w)) {
			t.Errorf("the window shows %q; it reads:\n%s", w, text)
		}
	}
}

// Settle gives the window up to about 5 s (plus OCR time) to load the key from
// the keychain and draw want, and returns what it reads then. It fails when
// the window is blank.
func Settle(t testing.TB, r *Running, want string) string {
	t.Helper()
	var text string
	var shot []byte
	for i := 0; i < 10; i++ {
		time.Sleep(500 * time.Millisecond)
		shot = r.Screenshot(t)
		text = ReadText(t, shot)
		if strings.Contains(strings.Join(strings.Fields(text), " "), want) {
			break
		}
	}
	CheckNotBlank(t, shot)
	return text
}

// StoreWithCLI uploads a secret key file with calmkeyctl, as an admin would,
// under a keychain service of the test's own, and returns the environment
// setting that names that service. ctl is the command that runs calmkeyctl
// (e.g. "bin/calmkeyctl", or "wine", "calmkeyctl.exe").
func StoreWithCLI(t testing.TB, ctl ...string) string {
	t.Helper()
	svc := ServiceEnv(Service(t))
	file := filepath.Join(t.TempDir(), "key.txt")
	if err := os.WriteFile(file, testkeys.SecretKey(testkeys.Fields{}), 0o600); err != nil {
		t.Fatal(err)
	}
	up := exec.Command(ctl[0], append(ctl[1:], "upload", file)...)
	up.Env = append(os.Environ(), svc)
	if out, err := up.CombinedOutput(); err != nil {
		t.Fatalf("calmkeyctl upload: %v\n%s", err, out)
	}
	return svc
}

// ExpectNoKey checks the window of an app whose keychain service holds no
// key: the section title and "No service key", and no error. The screenshot
// is saved as shotName (see SaveShot). It returns what the window reads.
func ExpectNoKey(t testing.TB, r *Running, shotName string) string {
	t.Helper()
	text := Settle(t, r, "No service key")
	SaveShot(t, shotName, r.Screenshot(t))
	MustContain(t, text, "SAP Cloud ALM Service Key", "No service key")
	MustNotContain(t, text, ErrorWords...)
	return text
}

// ExpectStoredKey checks the window of an app whose keychain service holds
// the key that StoreWithCLI stored: the tenant, and neither the secret nor an
// error. It returns what the window reads.
func ExpectStoredKey(t testing.TB, r *Running, shotName string) string {
	t.Helper()
	text := Settle(t, r, testkeys.Tenant)
	SaveShot(t, shotName, r.Screenshot(t))
	MustContain(t, text, "SAP Cloud ALM Service Key", testkeys.Tenant)
	MustNotContain(t, text, append(ErrorWords, testkeys.Secret, "No service key")...)
	return text
}
