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
	"github.com/gofrs/flock"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/internal/earlierkey"
	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
	"github.com/calmkey/calmkey/vault/vaulttest"
)

const testService = "calmkey-test-ui"

// fixture is a window under test. Widget updates the screen posts from
// goroutines queue up in ui and run on the test goroutine when the test
// pumps, the way fyne.Do runs them on the UI goroutine in the app.
type fixture struct {
	t       *testing.T
	app     fyne.App
	win     fyne.Window
	backend *vaulttest.MemoryBackend
	store   *vault.Store
	w       *window // the window around the sections
	ui      chan func()
	closed  bool
	lockDir string
	history *almtest.History
	// historyDir is where the last tests are kept, for a "restart" to share.
	historyDir string
}

// recorded is what the shared record of last tests holds now.
func (f *fixture) recorded() almtest.LastTests {
	f.t.Helper()
	lts, err := f.history.Read(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return lts
}

// record puts a test of the stored key into the shared record, as calmkeyctl
// test would.
func (f *fixture) record(rep *almtest.Report) {
	f.t.Helper()
	st, err := f.stored()
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.history.Record(context.Background(), almtest.NewLastTest(st, rep)); err != nil {
		f.t.Fatal(err)
	}
}

// close closes the window, as the user does.
func (f *fixture) close() {
	f.closed = true
	f.win.Close()
}

type fixtureOpts struct {
	backend *vaulttest.MemoryBackend
	timeout time.Duration
	test    almtest.Options
	app     fyne.App // reuse, to see what an earlier "run" left in Preferences
	lockDir string   // the keychain lock's folder: the test's own unless shared
	// historyDir holds the last tests: the test's own unless shared, to see
	// what an earlier "run" (or calmkeyctl) recorded.
	historyDir string
}

func newFixture(t *testing.T, o fixtureOpts) *fixture {
	t.Helper()
	if o.backend == nil {
		o.backend = vaulttest.NewMemoryBackend()
	}
	if o.app == nil {
		o.app = test.NewTempApp(t)
	}
	f := &fixture{t: t, app: o.app, backend: o.backend, ui: make(chan func(), 64)}
	if o.lockDir == "" {
		o.lockDir = t.TempDir()
	}
	f.lockDir = o.lockDir
	f.store = vault.Open(vault.Options{Backend: o.backend, Service: testService, Timeout: o.timeout, LockDir: o.lockDir})
	// Not NewTempWindow: its cleanup closes the window again after a test
	// closed it, and the test driver panics on a second Close.
	f.win = test.NewWindow(widget.NewLabel(""))
	f.win.Resize(fyne.NewSize(760, 560))
	if o.historyDir == "" {
		o.historyDir = t.TempDir()
	}
	history, err := almtest.OpenHistory(o.historyDir, testService)
	if err != nil {
		t.Fatal(err)
	}
	f.history, f.historyDir = history, o.historyDir
	do := func(fn func()) { f.ui <- fn }
	x := mount(f.app, f.win, newWindow(f.app, f.win, Deps{Store: f.store, Test: o.test, History: history, Version: "test"}, do))
	f.w = x.w
	f.w.busy.slowAfter = time.Hour // tests about slowness set their own
	f.w.watch.every = time.Hour    // tests about watching set their own, or call check
	f.w.seam.openFile = func(func(fyne.URIReadCloser, error)) { t.Error("unexpected file-open dialog") }
	f.w.seam.chooseFolder = func(fyne.ListableURI, func(fyne.ListableURI, error)) { t.Error("unexpected folder dialog") }
	t.Cleanup(func() {
		// Close first, which stops the watcher, then let background work
		// finish so it does not outlive the test's app.
		if !f.closed {
			f.win.Close()
		}
		f.drain(200 * time.Millisecond)
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

// drain runs queued UI work until none has come for quiet (or, with a
// watcher that checks often, for at most 20 quiet periods).
func (f *fixture) drain(quiet time.Duration) {
	end := time.After(20 * quiet)
	for {
		select {
		case fn := <-f.ui:
			fn()
		case <-time.After(quiet):
			return
		case <-end:
			return
		}
	}
}

// load starts the window's first keychain read and waits for its answer,
// as Window.Load does (with the watcher, which checks only when woken:
// pollEvery is an hour).
func (f *fixture) load() {
	f.t.Helper()
	f.w.load()
	f.w.watch.start()
	f.idle()
}

// check does what the watcher does on each check, on the test goroutine:
// reads the stamps, hands them to the window, and waits until any read it
// starts is through.
func (f *fixture) check() {
	f.t.Helper()
	f.w.stamped(f.w.readStamps(context.Background()))
	f.idle()
}

// idle waits for the keychain call in flight to finish.
func (f *fixture) idle() {
	f.t.Helper()
	f.pumpUntil("the keychain call to finish", func() bool { return f.w.busy.idle() })
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
	sums, err := f.store.List(context.Background())
	if err != nil {
		return nil, err
	}
	if len(sums) == 0 {
		return nil, vault.ErrNotFound
	}
	return f.store.Load(context.Background(), sums[0].Tenant)
}

// sec is the section of the test key's tenant (testkeys.Tenant), or of the
// only tenant; it fails the test when there is none.
func (f *fixture) sec() *section {
	f.t.Helper()
	if sec := f.w.secs.byTenant(testkeys.Tenant); sec != nil {
		return sec
	}
	if len(f.w.secs.all) == 1 {
		return f.w.secs.all[0]
	}
	f.t.Fatalf("no section of tenant %s among %d", testkeys.Tenant, len(f.w.secs.all))
	return nil
}

// noticeText is the text of the last information or warning dialog, "" when
// none showed.
func (f *fixture) noticeText() string {
	if f.w.dialogs.notice == nil {
		return ""
	}
	return f.w.dialogs.notice.title + ": " + f.w.dialogs.notice.text
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

// tap taps b and waits for the keychain call it starts: Display, Delete and
// Test read the keychain again before they act.
func (f *fixture) tap(b *widget.Button) {
	f.t.Helper()
	test.Tap(b)
	f.idle()
}

// holdLock takes the keychain lock as another calmkey process does while it
// changes the key, until release is called.
func (f *fixture) holdLock() (release func()) {
	f.t.Helper()
	path, err := vault.LockFile(f.lockDir, testService)
	if err != nil {
		f.t.Fatal(err)
	}
	fl := flock.New(path)
	if err := fl.Lock(); err != nil {
		f.t.Fatal(err)
	}
	released := false
	release = func() {
		if !released {
			released = true
			_ = fl.Unlock()
		}
	}
	f.t.Cleanup(release)
	return release
}

// withKey is a window whose keychain holds the default test key, loaded.
func withKey(t *testing.T, o fixtureOpts) *fixture {
	t.Helper()
	f := newFixture(t, o)
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.load()
	return f
}

// deleteUnderneath deletes the key as calmkeyctl would, without the window
// knowing.
func (f *fixture) deleteUnderneath() {
	f.t.Helper()
	if err := f.store.Delete(context.Background(), testkeys.Tenant); err != nil {
		f.t.Fatal(err)
	}
}

// retryNotice is the notice shown, which must offer Try again.
func (f *fixture) retryNotice() *notice {
	f.t.Helper()
	n := f.w.dialogs.notice
	if n == nil || n.retry == nil {
		f.t.Fatalf("no Try again; notice %q", f.noticeText())
	}
	return n
}

// okReport is a report as almtest.Run gives it for a key that logs on: the
// shared record keeps only reports of that shape.
func okReport() *almtest.Report {
	return &almtest.Report{OK: true, Started: time.Now(), Steps: []almtest.Step{
		{ID: almtest.StepToken, Status: almtest.StatusOK},
		{ID: almtest.StepAPI, Status: almtest.StatusOK},
	}}
}

// rejectedReport is a report as almtest.Run gives it for a key that the
// token endpoint rejects.
func rejectedReport() *almtest.Report {
	return &almtest.Report{KeyRejected: true, Started: time.Now(), Steps: []almtest.Step{
		{ID: almtest.StepToken, Status: almtest.StatusFail},
		{ID: almtest.StepAPI, Status: almtest.StatusSkipped},
	}}
}

// storeAsEarlier stores file, a key whose tenant need not be a valid tenant
// (subdomain) name, as an earlier calmkey did (the format check now refuses
// such names).
func (f *fixture) storeAsEarlier(file []byte, fileName string) {
	f.t.Helper()
	earlierkey.Store(f.t, f.backend, testService, f.lockDir, file, fileName)
}
