package main

// The way out, with real windows (issue 14, "Closing can take 16 seconds"):
// a logout or a restart ends the app with SIGTERM and starts it again at
// once, and the new window must come within about two seconds.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/instance"
	"github.com/calmkey/calmkey/internal/testkeys"
	wt "github.com/calmkey/calmkey/internal/windowtest"
	"github.com/calmkey/calmkey/vault"
)

// termBound is how long the test waits for the old app to exit and for the
// new window: far more than the 2 s a round should take on a busy machine,
// and less than the 16 s of the bug this test was written for.
const termBound = 10 * time.Second

// TestTermThenStartWithTestedKey: with a key stored and tested, SIGTERM to
// the running app and an immediate new start, as a logout or restart does.
// Each round the old process exits and the new one shows its window, both
// within termBound. The SIGTERM comes at a random moment in the first
// 1.5 s after the window showed, while the app is still reading the
// keychain and the last tests, or after it has. The times are logged, not
// asserted (2 cores, -race). CALMKEY_TERM_ROUNDS (default 5) sets the
// rounds; the figures in issue 14 come from 50.
func TestTermThenStartWithTestedKey(t *testing.T) {
	wt.RequireTools(t)
	bin := binaries(t)
	svc := wt.StoreWithCLI(t, filepath.Join(bin, "calmkeyctl"))
	service := strings.TrimPrefix(svc, vault.ServiceEnv+"=")
	recordRejected(t, service)
	// A hung old process prints where each goroutine waits on SIGQUIT.
	env := []string{svc, "GOTRACEBACK=all"}
	n := rounds(t, "CALMKEY_TERM_ROUNDS", 5)
	app := launch(t, bin, "calmkey", env...)
	var exits, locks, shows []time.Duration
	forced := 0
	for i := range n {
		time.Sleep(time.Duration(rand.IntN(1500)) * time.Millisecond)
		sent := time.Now()
		if err := app.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		next := wt.Start(t, []string{filepath.Join(bin, "calmkey")}, env...)
		locked := lockTaken(t, service, next, sent)
		code, exited := app.WaitExit(termBound)
		took := time.Since(sent)
		if !exited {
			t.Fatalf("round %d: the app still runs %v after SIGTERM; where it waits:\n%s", i+1, termBound, dump(app))
		}
		if code != 0 && !killedBy(app, syscall.SIGTERM) {
			t.Errorf("round %d: the app exited %d after SIGTERM; its output:\n%s", i+1, code, app.Out.String())
		}
		if !next.WaitWindow(termBound) {
			t.Fatalf("round %d: the new start showed no window within %v; its output:\n%s", i+1, termBound, next.Out.String())
		}
		// The hard exit (fynestop.go) says so, with where each goroutine
		// waited: counted and shown, for what held the way out up.
		if strings.Contains(app.Out.String(), "did not finish closing") {
			forced++
			t.Logf("round %d: the app was ended by its hard exit; its output:\n%s", i+1, app.Out.String())
		}
		lock := <-locked
		exits, locks, shows = append(exits, took), append(locks, lock), append(shows, next.Shown)
		t.Logf("round %d: the old app exited %v after SIGTERM; the new start took the lock %v and showed its window %v after its start",
			i+1, took.Round(time.Millisecond), lock.Round(time.Millisecond), next.Shown.Round(time.Millisecond))
		app = next
	}
	if !drawn(t, app) {
		t.Errorf("the last new window stayed blank")
	}
	ms := func(ds []time.Duration) string {
		return fmt.Sprintf("median %v, max %v", median(ds).Round(time.Millisecond), slices.Max(ds).Round(time.Millisecond))
	}
	t.Logf("SIGTERM then start, key stored and tested, %d rounds: the old app exited after SIGTERM %s (%d by its hard exit); "+
		"the new start took the lock %s and showed its window %s after its start", n, ms(exits), forced, ms(locks), ms(shows))
}

// lockTaken reports, once, how long after since the process r took the
// one-instance lock (its process id is in the address file: it no longer
// waits for the old app), or termBound when it did not.
func lockTaken(t *testing.T, service string, r *wt.Running, since time.Time) <-chan time.Duration {
	t.Helper()
	_, addr, err := instance.Paths("", service)
	if err != nil {
		t.Fatal(err)
	}
	pid := r.Cmd.Process.Pid
	c := make(chan time.Duration, 1)
	go func() {
		for time.Since(since) < termBound {
			var a struct {
				PID int `json:"pid"`
			}
			if b, err := os.ReadFile(addr); err == nil && json.Unmarshal(b, &a) == nil && a.PID == pid {
				c <- time.Since(since)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		c <- termBound
	}()
	return c
}

// dump asks a hung app for its goroutines (SIGQUIT, with GOTRACEBACK=all
// in its environment) and returns its output.
func dump(r *wt.Running) string {
	_ = r.Cmd.Process.Signal(syscall.SIGQUIT)
	if _, exited := r.WaitExit(10 * time.Second); !exited {
		_ = r.Cmd.Process.Kill()
		r.WaitExit(10 * time.Second)
	}
	return r.Out.String()
}

// TestTermWhileDisplayHangs: the way out is bounded whatever hangs on it.
// Here the X server stops answering (frozen with SIGSTOP) just before the
// SIGTERM, so Fyne's loop and its shutdown wait on X for as long as it is
// frozen; the app must still exit within termBound (it has a hard exit
// exitWithin after the signal), and a new start then shows its window.
func TestTermWhileDisplayHangs(t *testing.T) {
	wt.RequireTools(t)
	bin := binaries(t)
	svc := wt.StoreWithCLI(t, filepath.Join(bin, "calmkeyctl"))
	recordRejected(t, strings.TrimPrefix(svc, vault.ServiceEnv+"="))
	env := []string{svc, "GOTRACEBACK=all"}
	app := launch(t, bin, "calmkey", env...)
	wt.ExpectStoredKey(t, app, "before-display-hangs.png")

	resume := wt.FreezeDisplay(t)
	sent := time.Now()
	if err := app.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, exited := app.WaitExit(termBound)
	took := time.Since(sent)
	resume()
	if !exited {
		t.Fatalf("the app still runs %v after SIGTERM while the display hangs; where it waits:\n%s", termBound, dump(app))
	}
	if code != 0 {
		t.Errorf("the app exited %d; its output:\n%s", code, app.Out.String())
	}
	if !strings.Contains(app.Out.String(), "did not finish closing") {
		t.Errorf("the app exited without its hard exit's message, %v after SIGTERM, while the display hung; its output:\n%s", took, app.Out.String())
	}
	t.Logf("with the display hung, the app exited %v after SIGTERM", took.Round(time.Millisecond))
	next := launch(t, bin, "calmkey", env...)
	t.Logf("the new window showed %v after its start", next.Shown.Round(time.Millisecond))
}

// TestTermWhileClipboardManagerHangs: a way out that Fyne 2.7.1 itself
// can hang on. An app that owns the clipboard (here: it took a pasted key
// off it, which leaves it the owner of an empty clipboard) hands the
// clipboard to the session's clipboard manager when it ends: GLFW's
// glfwTerminate asks the manager to save it and waits for its answer with
// no time limit. A manager that does not answer (testdata/deafclipman; a
// session's manager may stop answering while the session logs out) held
// the app for as long as it lived. The app must still exit within
// termBound, by its hard exit, and a new start then shows its window.
func TestTermWhileClipboardManagerHangs(t *testing.T) {
	wt.RequireTools(t)
	bin := binaries(t)
	deaf := helper(t, "deafclipman")
	env := []string{wt.ServiceEnv(wt.Service(t)), "GOTRACEBACK=all"}
	app := launch(t, bin, "calmkey", env...)
	wt.ExpectNoKey(t, app, "clipboard-before-paste.png")

	// Paste a key and cancel: the app takes the key off the clipboard.
	key := string(testkeys.SecretKey(testkeys.Fields{}))
	wt.SetClipboard(t, key)
	app.Key(t, "ctrl+v")
	if text, shown := app.WaitFor(t, "Store this service key?", 30*time.Second); !shown {
		t.Fatalf("no confirmation after pasting; the window reads:\n%s", text)
	}
	// The OCR cannot read the buttons' line reliably; the one blue thing
	// on the dialog is Store in keychain, and Cancel, as wide, is at its left.
	store, found := wt.FindColor(t, app.Screenshot(t), wt.PrimaryBlue, 6)
	if !found {
		t.Fatal("no Store in keychain button on the confirmation")
	}
	app.Click(t, store.X-store.W/2, store.Y+store.H/2)
	for deadline := time.Now().Add(termBound); wt.Clipboard(t) == key; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the pasted key stays on the clipboard after Cancel")
		}
	}

	startDeafClipboardManager(t, deaf)
	sent := time.Now()
	if err := app.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, exited := app.WaitExit(termBound)
	took := time.Since(sent)
	if !exited {
		t.Fatalf("the app still runs %v after SIGTERM while the clipboard manager does not answer; where it waits:\n%s", termBound, dump(app))
	}
	if code != 0 || !strings.Contains(app.Out.String(), "did not finish closing") {
		t.Errorf("the app exited %d, %v after SIGTERM, want 0 by its hard exit (GLFW waits on the clipboard manager); its output:\n%s",
			code, took, app.Out.String())
	}
	t.Logf("with the clipboard manager deaf, the app exited %v after SIGTERM", took.Round(time.Millisecond))
	next := launch(t, bin, "calmkey", env...)
	t.Logf("the new window showed %v after its start", next.Shown.Round(time.Millisecond))
}

// startDeafClipboardManager starts testdata/deafclipman and waits until it
// owns the CLIPBOARD_MANAGER selection; it is killed when the test ends.
func startDeafClipboardManager(t *testing.T, path string) {
	t.Helper()
	man := exec.Command(path)
	man.Stderr = os.Stderr
	out, err := man.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := man.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = man.Process.Kill()
		_ = man.Wait()
	})
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("deafclipman did not take the CLIPBOARD_MANAGER selection: %q %v", line, err)
	}
}
