package ui

import (
	"context"
	"errors"
	"io"
	"log"
	"os"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/vault"
)

const testService = "calmkey-test-ui"

// fixture is a window under test. Widget updates the screen posts from
// goroutines queue up in ui and run on the test goroutine when the test
// pumps, the way fyne.Do runs them on the UI goroutine in the app.
type fixture struct {
	t       *testing.T
	app     fyne.App
	win     fyne.Window
	backend *vault.MemoryBackend
	store   *vault.Store
	s       *keyScreen
	ui      chan func()
	closed  bool
}

// close closes the window, as the user does.
func (f *fixture) close() {
	f.closed = true
	f.win.Close()
}

type fixtureOpts struct {
	backend *vault.MemoryBackend
	timeout time.Duration
	test    almtest.Options
	app     fyne.App // reuse, to see what an earlier "run" left in Preferences
}

func newFixture(t *testing.T, o fixtureOpts) *fixture {
	t.Helper()
	if o.backend == nil {
		o.backend = vault.NewMemoryBackend()
	}
	if o.app == nil {
		o.app = test.NewTempApp(t)
	}
	f := &fixture{t: t, app: o.app, backend: o.backend, ui: make(chan func(), 64)}
	f.store = vault.Open(vault.Options{Backend: o.backend, Service: testService, Timeout: o.timeout})
	// Not NewTempWindow: its cleanup closes the window again after a test
	// closed it, and the test driver panics on a second Close.
	f.win = test.NewWindow(widget.NewLabel(""))
	f.win.Resize(fyne.NewSize(760, 560))
	x := New(f.app, f.win, Deps{Store: f.store, Test: o.test, Version: "test"})
	f.s = x.s
	f.s.do = func(fn func()) { f.ui <- fn }
	f.s.slowAfter = time.Hour // tests about slowness set their own
	f.s.openFile = func(func(fyne.URIReadCloser, error)) { t.Error("unexpected file-open dialog") }
	f.s.saveFile = func(string, func(fyne.URIWriteCloser, error)) { t.Error("unexpected file-save dialog") }
	t.Cleanup(func() {
		// Let background work finish so it does not outlive the test's app.
		f.drain(200 * time.Millisecond)
		if !f.closed {
			f.win.Close()
		}
	})
	return f
}

// pumpUntil runs queued UI work until cond holds.
func (f *fixture) pumpUntil(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.After(15 * time.Second)
	for !cond() {
		select {
		case fn := <-f.ui:
			fn()
		case <-deadline:
			f.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// drain runs queued UI work until none has come for quiet.
func (f *fixture) drain(quiet time.Duration) {
	for {
		select {
		case fn := <-f.ui:
			fn()
		case <-time.After(quiet):
			return
		}
	}
}

// load starts the window's first keychain read and waits for its answer.
func (f *fixture) load() {
	f.t.Helper()
	f.s.load()
	f.idle()
}

// idle waits for the keychain call in flight to finish.
func (f *fixture) idle() {
	f.t.Helper()
	f.pumpUntil("the keychain call to finish", func() bool { return f.s.busy == 0 })
}

// storeKey puts a key into the keychain as calmkeyctl would.
func (f *fixture) storeKey(data []byte, name string) *vault.Key {
	f.t.Helper()
	k, err := vault.Parse(data)
	if err != nil {
		f.t.Fatalf("test key does not parse: %v", err)
	}
	if err := f.store.Save(context.Background(), k, name); err != nil {
		f.t.Fatalf("storing the test key: %v", err)
	}
	return k
}

// keyItems counts the keychain items that hold keys: all but the index of
// tenants, which stays once the last key is deleted.
func keyItems(f *fixture) int {
	n := 0
	for user := range f.backend.Items(testService) {
		if user != vault.IndexItem {
			n++
		}
	}
	return n
}

// stored reports what the keychain holds now.
func (f *fixture) stored() (*vault.Stored, error) {
	st, _, err := firstKey(context.Background(), f.store)
	return st, err
}

// noticeText is the text of the last information or warning dialog, "" when
// none showed.
func (f *fixture) noticeText() string {
	if f.s.notice == nil {
		return ""
	}
	return f.s.notice.title + ": " + f.s.notice.text
}

// overlayShown reports whether a dialog is open on the window.
func (f *fixture) overlayShown() bool { return f.win.Canvas().Overlays().Top() != nil }

// shortcut types a keyboard shortcut on the window.
func (f *fixture) shortcut(sc fyne.Shortcut) {
	f.win.Canvas().(fyne.Shortcutable).TypedShortcut(sc)
}

// findButton finds the visible button with text in o.
func findButton(o fyne.CanvasObject, text string) *widget.Button {
	for _, obj := range test.LaidOutObjects(o) {
		if b, ok := obj.(*widget.Button); ok && b.Text == text && b.Visible() {
			return b
		}
	}
	return nil
}

// texts returns the text of every visible label in o, joined by newlines.
func texts(o fyne.CanvasObject) string {
	var sb strings.Builder
	for _, obj := range test.LaidOutObjects(o) {
		if l, ok := obj.(*widget.Label); ok && l.Visible() {
			sb.WriteString(l.Text)
			sb.WriteByte('\n')
		}
	}
	return sb.String()
}

func mustContain(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(strings.ToLower(got), strings.ToLower(w)) {
			t.Errorf("%s does not contain %q; it is:\n%s", what, w, got)
		}
	}
}

func mustNotContain(t *testing.T, what, got string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(got, w) {
			t.Errorf("%s contains %q", what, w)
		}
	}
}

var errBackendDown = errors.New("org.freedesktop.DBus.Error.ServiceUnknown: no Secret Service")

// quiet discards the log for the test: it checks paths that log a stack.
func quiet(t *testing.T) {
	log.SetOutput(io.Discard)
	t.Cleanup(func() { log.SetOutput(os.Stderr) })
}
