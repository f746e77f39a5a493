package main

// Real-window tests: the built app is started under the test session's Xvfb
// display with its real Secret Service, found with xdotool, photographed with
// ImageMagick's import and read back with tesseract (internal/windowtest).
// They need the test session (scripts/test-session, run by make test).

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	wt "github.com/calmkey/calmkey/internal/windowtest"
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

// launch starts the built program name from bin with env added.
func launch(t testing.TB, bin, name string, env ...string) *wt.Running {
	t.Helper()
	return wt.Launch(t, []string{filepath.Join(bin, name)}, env...)
}

func TestWindowWithoutKey(t *testing.T) {
	wt.RequireTools(t)
	bin := binaries(t)
	r := launch(t, bin, "calmkey", wt.ServiceEnv(wt.Service(t)))
	wt.ExpectNoKey(t, r, "window-no-key.png")
}

func TestWindowWithKeyStoredByCLI(t *testing.T) {
	wt.RequireTools(t)
	bin := binaries(t)
	svc := wt.StoreWithCLI(t, filepath.Join(bin, "calmkeyctl"))
	r := launch(t, bin, "calmkey", svc)
	wt.ExpectStoredKey(t, r, "window-with-key.png")
}

// TestWindowKeychainUnavailable proves the checks above can fail: with no
// D-Bus the app must still open and say what is wrong.
func TestWindowKeychainUnavailable(t *testing.T) {
	wt.RequireTools(t)
	bin := binaries(t)
	r := launch(t, bin, "calmkey",
		wt.ServiceEnv(wt.Service(t)),
		"DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	text := wt.Settle(t, r, "cannot be reached")
	wt.SaveShot(t, "window-no-keychain.png", r.Screenshot(t))
	wt.MustContain(t, text, "SAP Cloud ALM Service Key", "cannot be reached")
}

// BenchmarkStartup measures, for the app with a stored key and for a bare
// Fyne window with one label, the time from exec to a visible window and the
// resident memory once idle. Compare the two sub-benchmarks' ms/window and
// rss-MB; the target is within 1.2x of bare on both.
func BenchmarkStartup(b *testing.B) {
	wt.RequireTools(b)
	bin := binaries(b)
	svc := wt.StoreWithCLI(b, filepath.Join(bin, "calmkeyctl"))
	names := []string{"bare", "calmkey"}
	// One unmeasured start of each first, so that neither pays alone for a
	// cold disk cache or the font cache being built.
	for _, name := range names {
		wt.Stop(launch(b, bin, name, svc))
	}
	for _, name := range names {
		b.Run(name, func(b *testing.B) {
			var shown time.Duration
			var rss int
			for i := 0; i < b.N; i++ {
				r := launch(b, bin, name, svc)
				shown += r.Shown
				time.Sleep(2 * time.Second) // idle: key loaded, first frames drawn
				rss += r.RSSKB(b)
				wt.Stop(r)
			}
			b.ReportMetric(float64(shown.Milliseconds())/float64(b.N), "ms/window")
			b.ReportMetric(float64(rss)/1024/float64(b.N), "rss-MB")
		})
	}
}
