package ui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
	"github.com/calmkey/calmkey/vault/vaulttest"
)

// The window stays true to the keychain when another program (calmkeyctl)
// changes the key underneath it: f.store stands for that program, sharing
// the window's keychain and lock.

func TestWindowShowsKeyDeletedUnderneath(t *testing.T) {
	f := withKey(t, fixtureOpts{})
	f.record(okReport())

	f.check() // nothing changed: nothing happens
	if f.w.state != stStored || f.w.line.message.Visible() {
		t.Fatalf("an unchanged keychain changed the window: state %v, message %q", f.w.state, f.w.line.message.Text)
	}

	f.deleteUnderneath()
	f.check()
	if f.w.state != stEmpty || len(f.w.secs.all) != 0 {
		t.Fatalf("after a delete underneath: state %v, %d sections", f.w.state, len(f.w.secs.all))
	}
	want := changes{testkeys.Tenant: vanished}.news()
	if !f.w.line.message.Visible() || f.w.line.message.Text != want {
		t.Errorf("message %q (visible %v), want %q", f.w.line.message.Text, f.w.line.message.Visible(), want)
	}
	mustContain(t, "message", f.w.line.message.Text, "The key of tenant "+testkeys.Tenant+" was deleted by another program")
	if f.w.bar.testAll.Visible() || f.w.bar.upload.Hidden || f.w.bar.upload.Disabled() {
		t.Error("Test all is still offered, or Upload is not")
	}
	if f.w.dialogs.notice != nil {
		t.Errorf("a dialog for a change no dialog was about: %q", f.noticeText())
	}
}

func TestWindowShowsKeyStoredUnderneath(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.load()
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "ctl.txt")
	f.check()
	if f.w.state != stStored || f.sec().row.name.Text != testkeys.Tenant {
		t.Fatalf("after a CLI upload: state %v, name %q", f.w.state, f.sec().row.name.Text)
	}
	mustContain(t, "message", f.w.line.message.Text, "A key of tenant "+testkeys.Tenant+" was stored by another program")
	mustContain(t, "uploaded", f.sec().facts.label(vault.FactUploaded).Text, "ctl.txt")
	// The next action clears the news.
	f.tap(f.sec().row.displayButton)
	if f.w.line.message.Visible() {
		t.Errorf("the news stays after the next action: %q", f.w.line.message.Text)
	}
}

func TestWindowShowsKeyReplacedUnderneath(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	old := f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.load()
	st, err := f.stored()
	if err != nil {
		t.Fatal(err)
	}
	lt := almtest.NewLastTest(st, okReport())
	if err := f.history.Record(t.Context(), lt); err != nil {
		t.Fatal(err)
	}
	f.w.read("", nil, nil)
	f.idle()
	if f.sec().last == nil {
		t.Fatal("the recorded test does not show")
	}

	f.deleteUnderneath()
	f.storeKey(testkeys.SecretKey(testkeys.Fields{ClientID: "sb-other!b1|sapcloudalm!b16907"}), "")
	f.check()
	if f.w.state != stStored || f.sec().facts.label(vault.FactClientID).Text != "sb-other!b1|sapcloudalm!b16907" {
		t.Fatalf("after a replace underneath: state %v, client ID %q (was %q)", f.w.state, f.sec().facts.label(vault.FactClientID).Text, old.ClientID)
	}
	mustContain(t, "message", f.w.line.message.Text, "replaced by another program")
	if f.sec().last != nil || f.sec().row.status.Text != "Not tested yet" || f.sec().result.box.Visible() {
		t.Errorf("the old key's test result shows for the new key: %q", f.sec().row.status.Text)
	}
}

// The watcher goroutine itself: it checks every pollEvery, and stops when
// the window closes.
func TestWatcherChecksUntilWindowCloses(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.w.watch.every = 20 * time.Millisecond // before the watcher starts
	f.load()
	f.deleteUnderneath()
	f.pumpUntil("the watcher to see the delete", func() bool { return f.w.state == stEmpty && f.w.busy.idle() })
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.pumpUntil("the watcher to see the upload", func() bool { return f.w.state == stStored && f.w.busy.idle() })

	f.close()
	f.drain(100 * time.Millisecond)
	calls := len(f.backend.Calls())
	time.Sleep(200 * time.Millisecond)
	f.drain(50 * time.Millisecond)
	if n := len(f.backend.Calls()) - calls; n != 0 {
		t.Errorf("%d keychain calls after the window closed", n)
	}
}

// One check at a time: while a check hangs in the keychain, no others pile
// up behind it. When it answers, the next check comes pollEvery later, not
// a backlog at once.
func TestWatcherNeverOverlapsChecks(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.w.watch.every = 30 * time.Millisecond
	f.load()
	var mu sync.Mutex
	var gets []time.Time
	gate := make(chan struct{})
	f.backend.Intercept(func(c vaulttest.Call) error {
		if c.Op == vaulttest.OpGet && c.User == vault.IndexItem {
			mu.Lock()
			gets = append(gets, time.Now())
			mu.Unlock()
			<-gate
		}
		return nil
	})
	t.Cleanup(func() { f.backend.Intercept(nil) })
	f.drain(400 * time.Millisecond) // ~13 periods with the first check hanging
	released := time.Now()
	close(gate)
	f.drain(20 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	soon := 0
	for _, at := range gets {
		if at.After(released) && at.Sub(released) < 20*time.Millisecond {
			soon++
		}
	}
	if len(gets) == 0 || soon > 1 {
		t.Errorf("%d checks in all, %d within 20 ms of the hanging one's answer: checks piled up", len(gets), soon)
	}
}

// The app coming to the foreground checks at once (Fyne's
// Lifecycle.SetOnEnteredForeground).
func TestForegroundChecksAtOnce(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.load() // pollEvery is an hour: only the foreground can wake it
	f.deleteUnderneath()
	hooks, ok := f.app.Lifecycle().(interface{ OnEnteredForeground() func() })
	if !ok || hooks.OnEnteredForeground() == nil {
		t.Fatal("the window set no foreground hook")
	}
	hooks.OnEnteredForeground()()
	f.pumpUntil("the check on entering the foreground", func() bool { return f.w.state == stEmpty && f.w.busy.idle() })
	mustContain(t, "message", f.w.line.message.Text, "deleted by another program")
}

// A check that fails pauses the watcher until the foreground (a locked
// keychain would otherwise ask to be unlocked every few seconds).
func TestFailedCheckPausesUntilForeground(t *testing.T) {
	f := withKey(t, fixtureOpts{})
	f.backend.FailOn(vaulttest.OpGet, vault.ErrUnavailable)
	f.check()
	if !f.w.watch.paused.Load() || f.w.state != stStored || f.w.dialogs.notice != nil {
		t.Fatalf("after a failed check: paused %v, state %v, notice %q", f.w.watch.paused.Load(), f.w.state, f.noticeText())
	}
	f.backend.Intercept(nil)
	f.w.onForeground()
	if f.w.watch.paused.Load() {
		t.Error("the foreground did not resume the watcher")
	}
}

func TestDisplayNeverShowsDeletedKey(t *testing.T) {
	f := withKey(t, fixtureOpts{})
	f.deleteUnderneath()
	f.tap(f.sec().row.displayButton)
	f.idle()
	if f.w.dialogs.display != nil {
		t.Fatal("Display showed a deleted key")
	}
	if len(f.w.secs.all) != 0 {
		t.Error("the deleted key's section still shows")
	}
	mustContain(t, "notice", f.noticeText(), "deleted by another program", "Nothing was displayed")
	if f.w.state != stEmpty {
		t.Errorf("state %v, want empty", f.w.state)
	}
}

func TestDisplayClosesWhenKeyDeletedUnderneath(t *testing.T) {
	f := withKey(t, fixtureOpts{})
	f.tap(f.sec().row.displayButton)
	v := f.w.dialogs.display
	if v == nil || !v.open {
		t.Fatal("Display showed nothing")
	}
	f.deleteUnderneath()
	f.check()
	if v.open || f.overlayShownWithText(testkeys.ClientID) {
		t.Fatal("the deleted key is still displayed")
	}
	mustContain(t, "notice", f.noticeText(), "deleted by another program", "closed the key's display")
}

// overlayShownWithText reports whether an open dialog shows text.
func (f *fixture) overlayShownWithText(text string) bool {
	for _, o := range f.win.Canvas().Overlays().List() {
		if o.Visible() && strings.Contains(texts(o), text) {
			return true
		}
	}
	return false
}

func TestTestNeverRunsOnDeletedKey(t *testing.T) {
	f := withKey(t, fixtureOpts{})
	var runs atomic.Int32
	f.w.tests.run = func(context.Context, *vault.Key, almtest.Options) *almtest.Report {
		runs.Add(1)
		return &almtest.Report{OK: true}
	}
	sec := f.sec()
	f.deleteUnderneath()
	f.tap(sec.row.testButton)
	f.idle()
	f.drain(50 * time.Millisecond)
	if runs.Load() != 0 || sec.running != nil || len(f.w.secs.all) != 0 {
		t.Fatalf("a deleted key was tested (%d runs)", runs.Load())
	}
	mustContain(t, "notice", f.noticeText(), "deleted by another program", "The test did not run")
}

func TestRunningTestStopsWhenKeyReplaced(t *testing.T) {
	f, srv := almFixture(t, fixtureOpts{})
	f.storeKey(srv.SecretKey(), "")
	f.load()
	run := f.startHangingTest(srv)
	f.deleteUnderneath()
	f.storeKey(srv.SecretKeyWith(testkeys.Fields{ClientID: "sb-other!b1|sapcloudalm!b16907"}), "")
	f.check()
	if f.sec().running != nil || !run.cancelled || f.sec().activity.box.Visible() {
		t.Fatal("the test of the replaced key still runs")
	}
	f.drain(200 * time.Millisecond)
	if f.sec().last != nil || len(f.recorded()) != 0 {
		t.Error("the stopped test left a result")
	}
	mustContain(t, "message", f.w.line.message.Text, "replaced by another program")
}

func TestDownloadNeverWritesDeletedKey(t *testing.T) {
	f := withKey(t, fixtureOpts{})
	dir := t.TempDir()
	v := f.openDownload(dir)
	f.deleteUnderneath()
	test.Tap(v.save)
	f.pumpUntil("the outcome", func() bool { return f.w.dialogs.notice != nil && f.w.busy.idle() })
	f.idle()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a deleted key was written: %v", entries)
	}
	mustContain(t, "notice", f.noticeText(), "deleted by another program", "Nothing was saved")
	if _, err := os.Lstat(filepath.Join(dir, downloadName(&vault.Key{Tenant: testkeys.Tenant}))); err == nil {
		t.Error("the key file exists")
	}
}

func TestDownloadDialogClosesWhenKeyReplaced(t *testing.T) {
	f := withKey(t, fixtureOpts{})
	v := f.openDownload(t.TempDir())
	f.deleteUnderneath()
	f.storeKey(testkeys.SecretKey(testkeys.Fields{ClientID: "sb-ctl!b1|sapcloudalm!b16907"}), "")
	f.check()
	if v.open {
		t.Fatal("the download of the replaced key is still offered")
	}
	mustContain(t, "notice", f.noticeText(), "replaced by another program", "nothing was saved")
}

func TestUploadDialogClosesWhenKeyStoredUnderneath(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.load()
	data := testkeys.SecretKey(testkeys.Fields{})
	f.app.Clipboard().SetContent(string(data))
	test.Tap(f.w.bar.paste)
	f.waitCheck()
	v := f.w.dialogs.upload
	if v == nil || !v.open {
		t.Fatalf("no confirmation; notice %q", f.noticeText())
	}
	f.storeKey(testkeys.SecretKey(testkeys.Fields{ClientID: "sb-ctl!b1|sapcloudalm!b16907"}), "ctl.txt")
	f.check()
	if v.open {
		t.Fatal("the confirmation stays open although a key is stored now")
	}
	mustContain(t, "notice", f.noticeText(), "The tenant already has a key", "stored a service key of tenant "+testkeys.Tenant, "Nothing was stored from here")
	if got := f.app.Clipboard().Content(); got != "" {
		t.Error("the pasted key stays on the clipboard")
	}
	if st, err := f.stored(); err != nil || st.FileName != "ctl.txt" {
		t.Errorf("the keychain holds %v (%v), want the other program's key", st, err)
	}
}

// ErrBusy on the first read: the window says another calmkey is changing
// the key, offers Try again, and mends itself at the next check.
func TestLoadWhileKeychainBusy(t *testing.T) {
	f := newFixture(t, fixtureOpts{timeout: 200 * time.Millisecond})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	release := f.holdLock()
	f.load()
	if f.w.state != stFailed || f.w.line.retry.Hidden {
		t.Fatalf("state %v, Try again hidden %v; want failed with Try again", f.w.state, f.w.line.retry.Hidden)
	}
	mustContain(t, "message", f.w.line.message.Text, "could not be read", "another calmkey is changing the key; try again")
	if !f.w.bar.upload.Disabled() {
		t.Error("Upload is offered while another calmkey changes the key")
	}
	f.check() // still busy: still says so
	if f.w.state != stFailed {
		t.Fatalf("state %v", f.w.state)
	}
	release()
	f.check()
	if f.w.state != stStored || f.w.line.message.Visible() {
		t.Errorf("after the lock was released: state %v, message %q", f.w.state, f.w.line.message.Text)
	}
}

func TestStoreWhileKeychainBusy(t *testing.T) {
	f := newFixture(t, fixtureOpts{timeout: 200 * time.Millisecond})
	f.load()
	data := testkeys.SecretKey(testkeys.Fields{})
	f.app.Clipboard().SetContent(string(data))
	test.Tap(f.w.bar.paste)
	f.waitCheck()
	release := f.holdLock()
	f.w.dialogs.upload.dialog.Confirm()
	f.idle()
	n := f.retryNotice()
	mustContain(t, "notice", f.noticeText(), "was not stored", "another calmkey is changing the key; try again")
	if len(f.backend.Items(testService)) != 0 {
		t.Fatal("something was stored")
	}
	if f.app.Clipboard().Content() != "" {
		t.Error("the pasted key stays on the clipboard after a failed store")
	}
	release()
	n.retry.Confirm()
	f.idle()
	if f.w.state != stStored {
		t.Fatalf("after Try again: state %v, notice %q", f.w.state, f.noticeText())
	}
	if st, err := f.stored(); err != nil || st.Key.ClientID != testkeys.ClientID {
		t.Errorf("stored %v %v", st, err)
	}
}

// A write that times out: the window shows vault's message as it is, which
// says whether anything may be left, and then what the keychain holds.
func TestStoreTimeoutShowsWhatMayBeLeft(t *testing.T) {
	t.Run("undone", func(t *testing.T) {
		f := newFixture(t, fixtureOpts{timeout: 100 * time.Millisecond})
		f.uploadFile("k.txt", testkeys.SecretKey(testkeys.Fields{}))
		release := f.backend.Hang(vaulttest.OpSet)
		t.Cleanup(release)
		time.AfterFunc(300*time.Millisecond, release) // the late write ends within vault's grace
		f.w.dialogs.upload.dialog.Confirm()
		f.idle()
		mustContain(t, "notice", f.noticeText(), "did not answer", "Storing the service key did not finish: the keychain did not answer within 100ms; nothing was stored")
		f.idle()
		if f.w.state != stEmpty || len(f.backend.Items(testService)) != 0 {
			t.Errorf("state %v, %d items", f.w.state, len(f.backend.Items(testService)))
		}
	})
	t.Run("still hanging", func(t *testing.T) {
		// This waits vault.WriteGrace (5 s).
		f := newFixture(t, fixtureOpts{timeout: 100 * time.Millisecond})
		f.uploadFile("k.txt", testkeys.SecretKey(testkeys.Fields{}))
		release := f.backend.Hang(vaulttest.OpSet)
		t.Cleanup(release)
		f.w.dialogs.upload.dialog.Confirm()
		f.idle()
		mustContain(t, "notice", f.noticeText(), "Storing the service key did not finish", "the keychain may hold a partial key: run calmkeyctl delete")
	})
}
