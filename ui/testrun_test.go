package ui

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/gofrs/flock"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/internal/fakealm"
	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
)

// almFixture is a window whose key logs on to a loopback fake of XSUAA and
// the Cloud ALM API.
func almFixture(t *testing.T, o fixtureOpts) (*fixture, *fakealm.Server) {
	t.Helper()
	srv := fakealm.Start(t, fakealm.Options{})
	o.test = almtest.Options{RootCAs: srv.RootCAs(), Timeout: 10 * time.Second}
	f := newFixture(t, o)
	return f, srv
}

// waitTest waits for the running test to finish and be shown.
func (f *fixture) waitTest() {
	f.t.Helper()
	f.pumpUntil("the test to finish", func() bool { return f.sec().running == nil })
}

func TestTestRunsInBackgroundAndShowsEachStep(t *testing.T) {
	f, srv := almFixture(t, fixtureOpts{})
	f.storeKey(srv.SecretKey(), "")
	f.load()

	started := time.Now()
	f.tap(f.sec().row.testButton)
	if f.sec().running == nil {
		t.Fatal("no test started")
	}
	if !f.sec().activity.box.Visible() || !f.sec().activity.progress.Visible() || !f.sec().activity.progress.Running() {
		t.Error("no activity indicator while the test runs")
	}
	if !f.sec().activity.cancel.Visible() || f.sec().activity.cancel.Disabled() {
		t.Error("no Cancel while the test runs")
	}
	if !f.sec().row.testButton.Disabled() || !f.sec().row.deleteButton.Disabled() {
		t.Error("Test or Delete stays enabled while a test runs")
	}
	// A double click, and the shortcut, while it runs start nothing more.
	f.w.onTest(f.sec())
	f.tap(f.sec().row.testButton)
	f.tap(f.sec().row.testButton)
	f.shortcut(&desktop.CustomShortcut{KeyName: fyne.KeyT, Modifier: fyne.KeyModifierShortcutDefault})
	f.waitTest()
	if c := srv.Counts(); c.UAA != 1 || c.API != 1 {
		t.Errorf("requests: %+v, want one token request and one API call", c)
	}

	if f.sec().activity.box.Visible() || f.sec().activity.progress.Running() {
		t.Error("the activity indicator stays after the test")
	}
	// The time of the test, in almtest's words for the outcome.
	at := f.sec().last.At().Local()
	if at.Before(started.Add(-time.Second)) || at.After(time.Now()) {
		t.Errorf("the test is dated %v, not while it ran (from %v)", at, started)
	}
	if want := "Logon works (tested " + at.Format(vault.TimeLayout) + ")"; f.sec().row.status.Text != want {
		t.Errorf("status = %q, want %q", f.sec().row.status.Text, want)
	}
	if f.sec().row.status.Importance != widget.SuccessImportance {
		t.Errorf("status importance = %v, want success", f.sec().row.status.Importance)
	}
	r := f.sec().result
	if !r.box.Visible() || len(r.rows) != 2 {
		t.Fatalf("result visible %v with %d steps, want 2", r.box.Visible(), len(r.rows))
	}
	mustContain(t, "token step", r.rows[0].title.Text, "Token: ok", " ms", "HTTP 200")
	mustContain(t, "API step", r.rows[1].title.Text, "API: ok")
	if r.rows[0].detail.Text == "" {
		t.Error("the token step has no detail")
	}
	if r.rejected.Visible() {
		t.Error("a working key is called rejected")
	}
	if f.sec().row.testButton.Disabled() {
		t.Error("Test is not offered again")
	}
	mustNotContain(t, "the window", texts(f.win.Content()), testkeys.Secret)
}

func TestTestResultRememberedAcrossRestarts(t *testing.T) {
	f, srv := almFixture(t, fixtureOpts{})
	f.storeKey(srv.SecretKey(), "")
	f.load()
	f.tap(f.sec().row.testButton)
	f.waitTest()
	want := f.sec().row.status.Text

	saved, err := os.ReadFile(f.history.Path())
	if err != nil {
		t.Fatalf("nothing remembered: %v", err)
	}
	mustNotContain(t, "remembered result", string(saved), testkeys.Secret, "access_token", "PRIVATE KEY")
	lt, ok := f.recorded()[testkeys.Tenant]
	if !ok || !lt.Report.OK || len(lt.Report.Steps) != 2 {
		t.Fatalf("remembered %+v", lt)
	}

	// A new window, as after a restart: same record, same keychain.
	g := newFixture(t, fixtureOpts{app: f.app, backend: f.backend, lockDir: f.lockDir, historyDir: f.historyDir})
	g.load()
	if g.sec().row.status.Text != want {
		t.Errorf("after a restart the status is %q, want %q", g.sec().row.status.Text, want)
	}
	if len(g.sec().result.rows) != 2 || !g.sec().result.box.Visible() {
		t.Error("the remembered steps are not shown")
	}

	// Another key stored in its place (by calmkeyctl) is not tested yet.
	if err := g.store.Delete(t.Context(), testkeys.Tenant); err != nil {
		t.Fatal(err)
	}
	g.storeKey(srv.SecretKeyWith(testkeys.Fields{ClientID: "sb-other!b1|sapcloudalm!b16907"}), "")
	h := newFixture(t, fixtureOpts{app: f.app, backend: f.backend, lockDir: f.lockDir, historyDir: f.historyDir})
	h.load()
	if h.sec().row.status.Text != "Not tested yet" || h.sec().result.box.Visible() {
		t.Errorf("a replaced key shows the old result: %q", h.sec().row.status.Text)
	}
}

func TestRejectedKeySuggestsDeleting(t *testing.T) {
	f, srv := almFixture(t, fixtureOpts{})
	f.storeKey(srv.SecretKey(), "")
	f.load()
	srv.RejectKey(true)

	f.tap(f.sec().row.testButton)
	f.waitTest()
	mustContain(t, "status", f.sec().row.status.Text, "logon fails")
	if f.sec().row.status.Importance != widget.DangerImportance {
		t.Errorf("status importance = %v, want danger", f.sec().row.status.Importance)
	}
	r := f.sec().result
	if len(r.rows) == 0 {
		t.Fatal("no steps shown")
	}
	mustContain(t, "token step", r.rows[0].title.Text, "Token: fail", "HTTP 401")
	if !r.rows[0].hint.Visible() || r.rows[0].hint.Text == "" {
		t.Error("the failed step has no hint")
	}
	if !r.rejected.Visible() {
		t.Fatal("no button to delete the rejected key")
	}
	mustContain(t, "advice", r.rows[0].hint.Text, "deleted or regenerated in the SAP BTP cockpit", "Delete the key here too")
	f.tap(r.delete)
	if f.w.dialogs.delete == nil {
		t.Fatal("the advice's Delete does not ask to delete")
	}
	mustContain(t, "question", f.w.dialogs.delete.question.Text, testkeys.Tenant)
}

func TestAPIForbiddenStillMeansLogonWorks(t *testing.T) {
	f, srv := almFixture(t, fixtureOpts{})
	f.storeKey(srv.SecretKey(), "")
	f.load()
	srv.SetAPIStatus(http.StatusForbidden)
	f.tap(f.sec().row.testButton)
	f.waitTest()
	mustContain(t, "status", f.sec().row.status.Text, "logon works")
	if len(f.sec().result.rows) != 2 {
		t.Fatalf("%d steps shown", len(f.sec().result.rows))
	}
	mustContain(t, "API step", f.sec().result.rows[1].title.Text, "API: warn", "HTTP 403")
	if f.sec().result.rows[1].icon.Resource == nil || f.sec().result.rows[1].title.Importance != widget.WarningImportance {
		t.Error("the warning step is not marked as a warning")
	}
}

func TestX509KeyTest(t *testing.T) {
	f, srv := almFixture(t, fixtureOpts{})
	f.storeKey(srv.X509Key(), "")
	f.load()
	f.tap(f.sec().row.testButton)
	f.waitTest()
	mustContain(t, "status", f.sec().row.status.Text, "logon works")
	if c := srv.Counts(); c.Cert != 1 || c.UAA != 0 {
		t.Errorf("requests %+v: an x509 key must log on at certurl", c)
	}
}

// startHangingTest starts a test whose token request hangs until the
// client gives up, and returns once the request has arrived.
func (f *fixture) startHangingTest(srv *fakealm.Server) *testRun {
	f.t.Helper()
	arrived := make(chan struct{}, 1)
	srv.SetTokenHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done() // hang until the client gives up
	}))
	f.tap(f.sec().row.testButton)
	if f.sec().running == nil {
		f.t.Fatal("no test started")
	}
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		f.t.Fatal("the token request never came")
	}
	return f.sec().running
}

func TestCancelTestKeepsLastResult(t *testing.T) {
	f, srv := almFixture(t, fixtureOpts{})
	f.storeKey(srv.SecretKey(), "")
	f.load()
	f.startHangingTest(srv)
	test.Tap(f.sec().activity.cancel)
	if !f.sec().activity.cancel.Disabled() || !strings.Contains(f.sec().activity.text.Text, "Cancelling") {
		t.Error("Cancel gives no feedback")
	}
	f.waitTest()
	if f.sec().row.status.Text != "Not tested yet" || f.sec().result.box.Visible() {
		t.Errorf("a cancelled test changed the result: %q", f.sec().row.status.Text)
	}
	if len(f.recorded()) != 0 {
		t.Error("a cancelled test was remembered")
	}
	if f.sec().activity.box.Visible() || f.sec().row.testButton.Disabled() {
		t.Error("the window did not return to idle after Cancel")
	}
}

func TestTestThatCannotRunSaysSo(t *testing.T) {
	f := withKey(t, fixtureOpts{})
	quiet(t)
	f.w.tests.run = func(context.Context, *vault.Key, almtest.Options) *almtest.Report { panic("bug") }
	f.tap(f.sec().row.testButton)
	f.waitTest()
	mustContain(t, "the section's note", f.sec().note.Text, "could not run", "internal error", "unchanged")
	if !f.sec().note.Visible() || f.w.dialogs.notice != nil {
		t.Errorf("the failure shows in a dialog (%q), not in its section", f.noticeText())
	}
	if f.sec().row.status.Text != "Not tested yet" || f.sec().row.testButton.Disabled() {
		t.Errorf("after a failed run: status %q, Test disabled %v", f.sec().row.status.Text, f.sec().row.testButton.Disabled())
	}
}

// A record whose lock another process holds does not hang the test's slot:
// keeping the result is given up within its bound, the result shows and
// says it was not kept, and the next test runs.
func TestTestRecordLockHeldGivesUp(t *testing.T) {
	f := withKey(t, fixtureOpts{})
	f.w.tests.run = func(context.Context, *vault.Key, almtest.Options) *almtest.Report { return okReport() }
	f.w.tests.recordWithin = 50 * time.Millisecond
	fl := flock.New(f.history.Path() + ".lock")
	if err := fl.Lock(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fl.Unlock() })
	f.tap(f.sec().row.testButton)
	f.waitTest()
	mustContain(t, "the section's note", f.sec().note.Text, "could not be kept for next time")
	mustContain(t, "title", f.sec().item.Title, "logon works")
	if len(f.w.tests.slots) != 0 {
		t.Errorf("%d test slots still taken", len(f.w.tests.slots))
	}
	_ = fl.Unlock()
	f.tap(f.sec().row.testButton)
	f.waitTest()
	if f.sec().note.Visible() || len(f.recorded()) != 1 {
		t.Errorf("with the lock free: note %q, %d recorded", f.sec().note.Text, len(f.recorded()))
	}
}
