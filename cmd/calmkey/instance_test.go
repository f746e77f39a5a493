package main

// One instance, with real windows: the built app started several times
// under the test session's Xvfb display (see window_test.go).

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	wt "github.com/calmkey/calmkey/internal/windowtest"
)

const alreadyRunning = "calmkey is already running; its window was brought to the front"

// helperBuilds holds one *helperBuild per program in testdata.
var helperBuilds sync.Map

type helperBuild struct {
	once sync.Once
	err  error
}

// helper builds the program testdata/name once, beside the other binaries,
// and returns its path.
func helper(t testing.TB, name string) string {
	t.Helper()
	bin := binaries(t)
	v, _ := helperBuilds.LoadOrStore(name, &helperBuild{})
	h := v.(*helperBuild)
	h.once.Do(func() {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, name), "./testdata/"+name)
		if out, err := cmd.CombinedOutput(); err != nil {
			h.err = fmt.Errorf("go build %s: %v\n%s", name, err, out)
		}
	})
	if h.err != nil {
		t.Fatal(h.err)
	}
	return filepath.Join(bin, name)
}

// wmclose is the path of testdata/wmclose: it closes a window as a window
// manager's close button does.
func wmclose(t testing.TB) string { return helper(t, "wmclose") }

// secondStart starts the app again and checks that it exits 0 at once with
// the message, leaving no window of its own.
func secondStart(t *testing.T, bin string, env ...string) {
	t.Helper()
	r := wt.Start(t, []string{filepath.Join(bin, "calmkey")}, env...)
	code, exited := r.WaitExit(30 * time.Second)
	if !exited || code != 0 || strings.TrimSpace(r.Out.String()) != alreadyRunning {
		t.Fatalf("a second start: exited %v with %d, saying %q; want 0 and %q", exited, code, r.Out.String(), alreadyRunning)
	}
}

// Eight starts at once: one window, and seven starts that exit 0 with the
// message.
func TestEightStartsOneWindow(t *testing.T) {
	wt.RequireTools(t)
	bin := binaries(t)
	svc := wt.ServiceEnv(wt.Service(t))
	var runs []*wt.Running
	t0 := time.Now()
	for range 8 {
		runs = append(runs, wt.Start(t, []string{filepath.Join(bin, "calmkey")}, svc))
	}
	// Each start is waited for at once; seven must exit.
	type exit struct {
		r      *wt.Running
		code   int
		exited bool
	}
	exits := make(chan exit, len(runs))
	for _, r := range runs {
		go func() {
			code, exited := r.WaitExit(60 * time.Second)
			exits <- exit{r, code, exited}
		}()
	}
	left := slices.Clone(runs)
	for range len(runs) - 1 {
		e := <-exits
		left = slices.DeleteFunc(left, func(r *wt.Running) bool { return r == e.r })
		if !e.exited {
			t.Fatalf("after 60 s, %d starts still run", len(left)+1)
		}
		if e.code != 0 || strings.TrimSpace(e.r.Out.String()) != alreadyRunning {
			t.Errorf("a start exited %d saying %q; want 0 and %q", e.code, e.r.Out.String(), alreadyRunning)
		}
	}
	staying := left
	if len(staying) != 1 {
		t.Fatalf("%d of 8 starts kept running, want 1", len(staying))
	}
	t.Logf("seven starts exited within %v", time.Since(t0).Round(time.Millisecond))
	app := staying[0]
	if !app.WaitWindow(30 * time.Second) {
		t.Fatalf("the app that kept running shows no window; its output:\n%s", app.Out.String())
	}
	windows := 0
	for _, r := range runs {
		windows += len(wt.Visible(r.Cmd.Process.Pid))
	}
	if windows != 1 {
		t.Errorf("%d visible windows, want 1", windows)
	}
	wt.ExpectNoKey(t, app, "eight-starts.png")
}

// A second start brings the running window back when it was hidden, and to
// the top when another window covers it, and gives it the focus.
func TestSecondStartRaisesWindow(t *testing.T) {
	wt.RequireTools(t)
	bin := binaries(t)
	svc := wt.ServiceEnv(wt.Service(t))
	app := launch(t, bin, "calmkey", svc)
	other := launch(t, bin, "bare") // another app's window, on top
	if top := topOf(t, app, other); top != other.Window {
		t.Fatalf("the newer window is not on top: %s", top)
	}
	secondStart(t, bin, svc)
	if top := topOf(t, app, other); top != app.Window {
		t.Errorf("after a second start, window %s is on top, not the app's %s", top, app.Window)
	}
	if out, _ := exec.Command("xdotool", "getwindowfocus").Output(); strings.TrimSpace(string(out)) != app.Window {
		t.Errorf("the focus is on window %s, not the app's %s", strings.TrimSpace(string(out)), app.Window)
	}

	// Hidden (unmapped, as a minimised window is on X11): it comes back.
	if err := exec.Command("xdotool", "windowunmap", "--sync", app.Window).Run(); err != nil {
		t.Fatal(err)
	}
	if ids := wt.Visible(app.Cmd.Process.Pid); len(ids) != 0 {
		t.Fatalf("the window is still visible after unmapping: %v", ids)
	}
	secondStart(t, bin, svc)
	if !app.WaitWindow(5 * time.Second) {
		t.Fatal("a second start did not bring the hidden window back")
	}
	wt.ExpectNoKey(t, app, "second-start-raised.png")
}

// topOf returns which of the apps' windows is highest on the display.
func topOf(t *testing.T, apps ...*wt.Running) string {
	t.Helper()
	stack := wt.Stacking(t)
	for _, id := range stack {
		for _, a := range apps {
			if id == a.Window {
				return id
			}
		}
	}
	t.Fatalf("none of the windows is on the display: %v", stack)
	return ""
}

// Closing the app and starting it again at once shows the new window every
// time: the new start waits until the old process has exited (Fyne 2.7.1 can
// leave a window unshown when it starts while its previous instance shuts
// down). Half the tries close the window as its close button does, half
// stop the app with SIGTERM, as a session's end does.
func TestCloseThenStart(t *testing.T) {
	wt.RequireTools(t)
	bin := binaries(t)
	closer := wmclose(t)
	svc := wt.ServiceEnv(wt.Service(t))
	const tries = 30
	t0 := time.Now()
	app := launch(t, bin, "calmkey", svc)
	shown := 0
	var slowest time.Duration
	for i := range tries {
		how := "close button"
		if i%2 == 0 {
			if out, err := exec.Command(closer, app.Window).CombinedOutput(); err != nil {
				t.Fatalf("wmclose: %v %s", err, out)
			}
		} else {
			how = "SIGTERM"
			if err := app.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
		}
		next := wt.Start(t, []string{filepath.Join(bin, "calmkey")}, svc)
		ok := next.WaitWindow(30 * time.Second)
		code, exited := app.WaitExit(10 * time.Second)
		// A SIGTERM that comes before Fyne has set up its handler (its window
		// shows first) ends the app at once, the default action.
		if !exited || code != 0 && !(how == "SIGTERM" && killedBy(app, syscall.SIGTERM)) {
			t.Errorf("try %d (%s): the closed app exited %v with %d; its output:\n%s", i+1, how, exited, code, app.Out.String())
		}
		if !ok {
			t.Errorf("try %d (%s): the new start showed no window within 30 s; its output:\n%s", i+1, how, next.Out.String())
			wt.Stop(next)
			next = launch(t, bin, "calmkey", svc)
		} else if drawn(t, next) {
			shown++
			slowest = max(slowest, next.Shown)
		} else {
			t.Errorf("try %d (%s): the new window stayed blank", i+1, how)
		}
		app = next
	}
	t.Logf("close then start at once: %d of %d tries showed the window (slowest %v from start; %v in all)",
		shown, tries, slowest.Round(time.Millisecond), time.Since(t0).Round(time.Second))
}

// drawn waits up to 10 s for the window to draw its content.
func drawn(t *testing.T, r *wt.Running) bool {
	t.Helper()
	for range 50 {
		if wt.Blank(r.Screenshot(t)) == nil {
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

// killedBy reports whether the exited process r was ended by signal sig.
func killedBy(r *wt.Running, sig syscall.Signal) bool {
	ws, ok := r.Cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

func TestGoroutineID(t *testing.T) {
	me := goroutineID()
	if me == 0 || goroutineID() != me {
		t.Fatalf("goroutineID: %d, then %d", me, goroutineID())
	}
	other := make(chan uint64)
	go func() { other <- goroutineID() }()
	if id := <-other; id == 0 || id == me {
		t.Errorf("another goroutine's id: %d (this one's: %d)", id, me)
	}
}
