package ui

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

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
	f.pumpUntil("the test to finish", func() bool { return f.s.test == nil })
}

func TestTestRunsInBackgroundAndShowsEachStep(t *testing.T) {
	f, srv := almFixture(t, fixtureOpts{})
	f.storeKey(srv.SecretKey(), "")
	f.load()

	test.Tap(f.s.testBtn)
	if f.s.test == nil {
		t.Fatal("no test started")
	}
	if !f.s.activity.Visible() || !f.s.progress.Visible() || !f.s.progress.Running() {
		t.Error("no activity indicator while the test runs")
	}
	if !f.s.cancel.Visible() || f.s.cancel.Disabled() {
		t.Error("no Cancel while the test runs")
	}
	if !f.s.testBtn.Disabled() || !f.s.del.Disabled() {
		t.Error("Test or Delete stays enabled while a test runs")
	}
	// A double click, and the shortcut, while it runs start nothing more.
	f.s.onTest()
	test.Tap(f.s.testBtn)
	test.Tap(f.s.testBtn)
	f.shortcut(&desktop.CustomShortcut{KeyName: fyne.KeyT, Modifier: fyne.KeyModifierShortcutDefault})
	f.waitTest()
	if c := srv.Counts(); c.UAA != 1 || c.API != 1 {
		t.Errorf("requests: %+v, want one token request and one API call", c)
	}

	if f.s.activity.Visible() || f.s.progress.Running() {
		t.Error("the activity indicator stays after the test")
	}
	mustContain(t, "status", f.s.status.Text, "logon works", "tested "+time.Now().Format("2006-01-02"))
	if f.s.status.Importance != widget.SuccessImportance {
		t.Errorf("status importance = %v, want success", f.s.status.Importance)
	}
	r := f.s.result
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
	if f.s.testBtn.Disabled() {
		t.Error("Test is not offered again")
	}
	mustNotContain(t, "the window", texts(f.win.Content()), testkeys.Secret)
}

func TestTestResultRememberedAcrossRestarts(t *testing.T) {
	f, srv := almFixture(t, fixtureOpts{})
	f.storeKey(srv.SecretKey(), "")
	f.load()
	test.Tap(f.s.testBtn)
	f.waitTest()
	want := f.s.status.Text

	saved := f.app.Preferences().String(prefLastTest)
	if saved == "" {
		t.Fatal("nothing remembered")
	}
	mustNotContain(t, "remembered result", saved, testkeys.Secret, "access_token", "PRIVATE KEY")
	var lt lastTest
	if err := json.Unmarshal([]byte(saved), &lt); err != nil || !lt.OK || len(lt.Steps) != 2 {
		t.Fatalf("remembered %+v (%v)", lt, err)
	}

	// A new window, as after a restart: same preferences, same keychain.
	g := newFixture(t, fixtureOpts{app: f.app, backend: f.backend})
	g.load()
	if g.s.status.Text != want {
		t.Errorf("after a restart the status is %q, want %q", g.s.status.Text, want)
	}
	if len(g.s.result.rows) != 2 || !g.s.result.box.Visible() {
		t.Error("the remembered steps are not shown")
	}

	// Another key stored in its place (by calmkeyctl) is not tested yet.
	if err := g.store.Delete(t.Context(), testkeys.Tenant); err != nil {
		t.Fatal(err)
	}
	g.storeKey(srv.SecretKeyWith(testkeys.Fields{ClientID: "sb-other!b1|sapcloudalm!b16907"}), "")
	h := newFixture(t, fixtureOpts{app: f.app, backend: f.backend})
	h.load()
	if h.s.status.Text != "not tested yet" || h.s.result.box.Visible() {
		t.Errorf("a replaced key shows the old result: %q", h.s.status.Text)
	}
}

func TestRejectedKeySuggestsDeleting(t *testing.T) {
	f, srv := almFixture(t, fixtureOpts{})
	f.storeKey(srv.SecretKey(), "")
	f.load()
	srv.RejectKey(true)

	test.Tap(f.s.testBtn)
	f.waitTest()
	mustContain(t, "status", f.s.status.Text, "logon fails")
	if f.s.status.Importance != widget.DangerImportance {
		t.Errorf("status importance = %v, want danger", f.s.status.Importance)
	}
	r := f.s.result
	if len(r.rows) == 0 {
		t.Fatal("no steps shown")
	}
	mustContain(t, "token step", r.rows[0].title.Text, "Token: fail", "HTTP 401")
	if !r.rows[0].hint.Visible() || r.rows[0].hint.Text == "" {
		t.Error("the failed step has no hint")
	}
	if !r.rejected.Visible() {
		t.Fatal("no advice to delete the rejected key")
	}
	mustContain(t, "advice", r.advice.Text, "deleted in the SAP BTP cockpit", "Delete it here too")
	test.Tap(r.delete)
	if f.s.confirmDel == nil {
		t.Fatal("the advice's Delete does not ask to delete")
	}
	mustContain(t, "question", f.s.confirmDel.question.Text, testkeys.Tenant)
}

func TestAPIForbiddenStillMeansLogonWorks(t *testing.T) {
	f, srv := almFixture(t, fixtureOpts{})
	f.storeKey(srv.SecretKey(), "")
	f.load()
	srv.SetAPIStatus(http.StatusForbidden)
	test.Tap(f.s.testBtn)
	f.waitTest()
	mustContain(t, "status", f.s.status.Text, "logon works")
	if len(f.s.result.rows) != 2 {
		t.Fatalf("%d steps shown", len(f.s.result.rows))
	}
	mustContain(t, "API step", f.s.result.rows[1].title.Text, "API: warn", "HTTP 403")
	if f.s.result.rows[1].icon.Resource == nil || f.s.result.rows[1].title.Importance != widget.WarningImportance {
		t.Error("the warning step is not marked as a warning")
	}
}

func TestX509KeyTest(t *testing.T) {
	f, srv := almFixture(t, fixtureOpts{})
	f.storeKey(srv.X509Key(), "")
	f.load()
	test.Tap(f.s.testBtn)
	f.waitTest()
	mustContain(t, "status", f.s.status.Text, "logon works")
	if c := srv.Counts(); c.Cert != 1 || c.UAA != 0 {
		t.Errorf("requests %+v: an x509 key must log on at certurl", c)
	}
}

func TestCancelTestKeepsLastResult(t *testing.T) {
	f, srv := almFixture(t, fixtureOpts{})
	f.storeKey(srv.SecretKey(), "")
	f.load()
	arrived := make(chan struct{}, 1)
	srv.SetTokenHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done() // hang until the client gives up
	}))

	test.Tap(f.s.testBtn)
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the token request never came")
	}
	test.Tap(f.s.cancel)
	if !f.s.cancel.Disabled() || !strings.Contains(f.s.activityText.Text, "Cancelling") {
		t.Error("Cancel gives no feedback")
	}
	f.waitTest()
	if f.s.status.Text != "not tested yet" || f.s.result.box.Visible() {
		t.Errorf("a cancelled test changed the result: %q", f.s.status.Text)
	}
	if f.app.Preferences().String(prefLastTest) != "" {
		t.Error("a cancelled test was remembered")
	}
	if f.s.activity.Visible() || f.s.testBtn.Disabled() {
		t.Error("the window did not return to idle after Cancel")
	}
}

func TestTestThatCannotRunSaysSo(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.load()
	quiet(t)
	f.s.runTest = func(context.Context, *vault.Key, almtest.Options) *almtest.Report { panic("bug") }
	test.Tap(f.s.testBtn)
	f.waitTest()
	mustContain(t, "notice", f.noticeText(), "could not run", "internal error", "unchanged")
	if f.s.status.Text != "not tested yet" || f.s.testBtn.Disabled() {
		t.Errorf("after a failed run: status %q, Test disabled %v", f.s.status.Text, f.s.testBtn.Disabled())
	}
}
