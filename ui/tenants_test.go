package ui

import (
	"context"
	"crypto/x509"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/internal/fakealm"
	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
)

// threeTenants stores three tenants' keys, out of order: a good secret key,
// a key that the token endpoint rejects, and an x509 key whose certificate
// runs out in 10 days. Two loopback servers answer: good and bad.
func threeTenants(t *testing.T) (f *fixture, good, bad *fakealm.Server) {
	t.Helper()
	good = fakealm.Start(t, fakealm.Options{CertNotAfter: time.Now().Add(10 * 24 * time.Hour)})
	bad = fakealm.Start(t, fakealm.Options{})
	bad.RejectKey(true)
	pool := x509.NewCertPool()
	pool.AddCert(good.CA.Cert)
	pool.AddCert(bad.CA.Cert)
	f = newFixture(t, fixtureOpts{test: almtest.Options{RootCAs: pool, Timeout: 10 * time.Second}})
	f.storeKey(good.X509KeyWith(testkeys.Fields{Tenant: "zeta-prod"}), "zeta.txt")
	f.storeKey(bad.SecretKeyWith(testkeys.Fields{Tenant: "beta-test"}), "beta.txt")
	f.storeKey(good.SecretKeyWith(testkeys.Fields{Tenant: "alpha-dev"}), "alpha.txt")
	f.load()
	return f, good, bad
}

func tenantsOf(f *fixture) []string {
	var ts []string
	for _, sec := range f.w.secs.all {
		ts = append(ts, sec.tenant)
	}
	return ts
}

// The window holds a section per tenant, sorted by name, the first open;
// each collapsed title says the tenant's state at a glance.
func TestThreeTenantsEachInASection(t *testing.T) {
	f, _, _ := threeTenants(t)
	if got := strings.Join(tenantsOf(f), ","); got != "alpha-dev,beta-test,zeta-prod" {
		t.Fatalf("sections %q, want sorted by tenant", got)
	}
	if len(f.w.secs.accordion.Items) != 3 || !f.w.secs.accordion.Items[0].Open || f.w.secs.accordion.Items[1].Open || f.w.secs.accordion.Items[2].Open {
		t.Error("want three items with the first open, the others collapsed")
	}
	for i, sec := range f.w.secs.all {
		if f.w.secs.accordion.Items[i] != sec.item {
			t.Errorf("item %d is not the section of %s", i, sec.tenant)
		}
		mustContain(t, "title", sec.item.Title, sec.tenant+" — not tested")
		if sec.row.name.Text != sec.tenant {
			t.Errorf("row name %q, want %q", sec.row.name.Text, sec.tenant)
		}
	}
	mustContain(t, "zeta's title", f.w.secs.byTenant("zeta-prod").item.Title, "certificate expires in 10 days")
	mustNotContain(t, "alpha's title", f.w.secs.byTenant("alpha-dev").item.Title, "certificate")
	mustContain(t, "zeta's type", f.w.secs.byTenant("zeta-prod").facts.label(vault.FactCredentialType).Text, "x509")

	// A test that calmkeyctl recorded shows in its tenant's title.
	st, err := f.store.Load(t.Context(), "beta-test")
	if err != nil {
		t.Fatal(err)
	}
	rep := rejectedReport()
	if err := f.history.Record(t.Context(), almtest.NewLastTest(st, rep)); err != nil {
		t.Fatal(err)
	}
	f.w.read("", nil, nil)
	f.idle()
	mustContain(t, "beta's title", f.w.secs.byTenant("beta-test").item.Title, "beta-test — logon fails: the key was rejected (")
	mustContain(t, "alpha's title", f.w.secs.byTenant("alpha-dev").item.Title, "not tested")

	// Opening another section collapses the open one; shortcuts act on it.
	test.Tap(findAccordionHeader(t, f, "beta-test"))
	if f.w.secs.open() != f.w.secs.byTenant("beta-test") {
		t.Fatalf("the open section is %v", f.w.secs.open())
	}
	if f.w.secs.byTenant("alpha-dev").item.Open {
		t.Error("two sections are open")
	}
	mustNotContain(t, "the window", texts(f.win.Content()), testkeys.Secret)
}

// Test all runs every tenant at once, each section with its own progress;
// the rejected key fails in its section and leaves the others' results.
func TestTestAllRunsEveryTenantAtOnce(t *testing.T) {
	f, good, bad := threeTenants(t)
	// Hold every test until all three are in flight: they run at once.
	var mu sync.Mutex
	inFlight, most := 0, 0
	all := make(chan struct{})
	run := f.w.tests.run
	f.w.tests.run = func(ctx context.Context, k *vault.Key, o almtest.Options) *almtest.Report {
		mu.Lock()
		inFlight++
		if inFlight > most {
			most = inFlight
		}
		if inFlight == 3 {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-time.After(10 * time.Second):
		}
		defer func() { mu.Lock(); inFlight--; mu.Unlock() }()
		return run(ctx, k, o)
	}
	test.Tap(f.w.bar.testAll)
	f.idle() // the freshness check
	if !f.w.bar.testAll.Disabled() {
		t.Error("Test all is offered again while tests run")
	}
	for _, sec := range f.w.secs.all {
		if sec.running == nil || !sec.activity.box.Visible() {
			t.Errorf("%s: no progress shown", sec.tenant)
		}
		mustContain(t, sec.tenant+"'s title", sec.item.Title, "testing…")
	}
	f.pumpUntil("every test to finish", func() bool {
		for _, sec := range f.w.secs.all {
			if sec.running != nil {
				return false
			}
		}
		return true
	})
	if most != 3 {
		t.Errorf("at most %d tests ran at once, want 3", most)
	}
	want := map[string]string{
		"alpha-dev": "alpha-dev — logon works (",
		"beta-test": "beta-test — logon fails: the key was rejected (",
		"zeta-prod": "zeta-prod — logon works (",
	}
	for tenant, title := range want {
		sec := f.w.secs.byTenant(tenant)
		mustContain(t, tenant+"'s title", sec.item.Title, title)
		if sec.last == nil || !sec.result.box.Visible() && sec.item.Open {
			t.Errorf("%s: no result", tenant)
		}
	}
	if !f.w.secs.byTenant("beta-test").last.Report.KeyRejected {
		t.Error("the rejected key is not called rejected")
	}
	if good.Counts().UAA == 0 || bad.Counts().UAA != 1 {
		t.Errorf("token requests: good %d, bad %d", good.Counts().UAA, bad.Counts().UAA)
	}
	// The shared record holds all three, for calmkeyctl list.
	if lts := f.recorded(); len(lts) != 3 {
		t.Errorf("%d tests recorded, want 3", len(lts))
	}
	if f.w.bar.testAll.Disabled() {
		t.Error("Test all is not offered again")
	}
}

// A test that cannot run says so in its own section; the others' results
// stand.
func TestFailedTestLeavesOtherTenants(t *testing.T) {
	f, _, _ := threeTenants(t)
	quiet(t)
	run := f.w.tests.run
	f.w.tests.run = func(ctx context.Context, k *vault.Key, o almtest.Options) *almtest.Report {
		if k.Tenant == "zeta-prod" {
			panic("bug")
		}
		return run(ctx, k, o)
	}
	test.Tap(f.w.bar.testAll)
	f.idle()
	f.pumpUntil("every test to finish", func() bool {
		return f.w.secs.byTenant("alpha-dev").running == nil && f.w.secs.byTenant("beta-test").running == nil && f.w.secs.byTenant("zeta-prod").running == nil
	})
	mustContain(t, "zeta's note", f.w.secs.byTenant("zeta-prod").note.Text, "could not run")
	mustContain(t, "zeta's title", f.w.secs.byTenant("zeta-prod").item.Title, "not tested")
	mustContain(t, "alpha's title", f.w.secs.byTenant("alpha-dev").item.Title, "logon works")
	if f.w.secs.byTenant("alpha-dev").note.Visible() || f.w.secs.byTenant("beta-test").note.Visible() {
		t.Error("another tenant's section shows zeta's failure")
	}
}

// Deleting one tenant's key leaves the others' items byte for byte.
func TestDeleteOneTenantLeavesOthers(t *testing.T) {
	f, _, _ := threeTenants(t)
	before := f.backend.Items(testService)
	sec := f.w.secs.byTenant("beta-test")
	f.w.secs.openOnly(sec)
	f.tap(sec.row.deleteButton)
	mustContain(t, "question", f.w.dialogs.delete.question.Text, "tenant beta-test", "other tenants' keys stay")
	f.w.dialogs.delete.dialog.Confirm()
	f.idle()
	f.drain(50 * time.Millisecond)
	if got := strings.Join(tenantsOf(f), ","); got != "alpha-dev,zeta-prod" {
		t.Fatalf("sections after deleting beta-test: %q", got)
	}
	after := f.backend.Items(testService)
	for user, text := range before {
		if user == vault.IndexItem || strings.Contains(user, "beta-test") {
			continue
		}
		if after[user] != text {
			t.Errorf("item %s changed", user)
		}
	}
	for user := range after {
		if strings.Contains(user, "beta-test") {
			t.Errorf("item %s of the deleted tenant is left", user)
		}
	}
	if f.w.line.message.Visible() {
		t.Errorf("the window calls its own delete news: %q", f.w.line.message.Text)
	}
}

// A second tenant's key is added beside the first and its section opens; a
// second key for a tenant that has one is offered as its replacement: one
// key per tenant.
func TestAddTenantsKeyBesideAnother(t *testing.T) {
	f := withKey(t, fixtureOpts{})
	f.uploadFile("second.txt", testkeys.SecretKey(testkeys.Fields{Tenant: "second-tenant"}))
	if f.w.dialogs.upload == nil {
		t.Fatalf("no confirmation; notice %q", f.noticeText())
	}
	f.w.dialogs.upload.dialog.Confirm()
	f.idle()
	if got := strings.Join(tenantsOf(f), ","); got != testkeys.Tenant+",second-tenant" {
		t.Fatalf("sections %q", got)
	}
	if f.w.secs.open() != f.w.secs.byTenant("second-tenant") {
		t.Error("the new tenant's section is not open")
	}
	f.w.dialogs.upload = nil
	f.uploadFile("again.txt", testkeys.SecretKey(testkeys.Fields{Tenant: "second-tenant", ClientID: "sb-again!b1|sapcloudalm!b16907"}))
	if f.w.dialogs.upload != nil {
		t.Error("a second key of a tenant was offered for storing")
	}
	if v := f.w.dialogs.replace; v == nil {
		t.Errorf("a second key of a tenant was not offered as its replacement; notice %q", f.noticeText())
	} else {
		mustContain(t, "the offer", v.question.Text, "Tenant second-tenant already has a service key", "only one is kept")
	}
}

// A tenant named with spaces, other scripts and hundreds of characters
// shows in every view: the section's title (cut), its row (whole), the
// delete question, the display and download dialogs, and the proposed file
// name (cut to what every file system takes). The format check refuses
// such names now; an earlier calmkey stored them, and the section flags
// them.
func TestOddTenantNamesInEveryView(t *testing.T) {
	long := strings.Repeat("Überseeische Tochter ", 15) + "Ende"
	for _, tenant := range []string{"acme prod (EU)", "株式会社テスト 本番", long} {
		t.Run(tenant[:8], func(t *testing.T) {
			f := newFixture(t, fixtureOpts{})
			f.storeAsEarlier(testkeys.SecretKey(testkeys.Fields{Tenant: tenant, UAAURL: "https://odd.authentication.eu10.hana.ondemand.com"}), "")
			f.load()
			sec := f.w.secs.byTenant(tenant)
			if sec == nil {
				t.Fatalf("no section; sections %q", tenantsOf(f))
			}
			mustContain(t, "title", sec.item.Title, badNameTitle())
			mustContain(t, "status", sec.row.status.Text, "not a valid tenant name")
			if sec.row.name.Text != tenant {
				t.Errorf("row name %q", sec.row.name.Text)
			}
			name := strings.SplitN(sec.item.Title, " — ", 2)[0]
			if n := utf8.RuneCountInString(name); n > titleMost {
				t.Errorf("title's name is %d characters, want at most %d", n, titleMost)
			}
			if !strings.HasPrefix(tenant, strings.TrimSuffix(name, "…")) {
				t.Errorf("title %q does not start with the tenant", sec.item.Title)
			}
			f.tap(sec.row.displayButton)
			if f.w.dialogs.display == nil {
				t.Fatal("no display")
			}
			mustContain(t, "display", f.w.dialogs.display.json.Text, "identityzone")
			f.w.dialogs.display.dialog.Hide()
			f.tap(sec.row.deleteButton)
			mustContain(t, "question", f.w.dialogs.delete.question.Text, tenant)
			f.w.dialogs.delete.dialog.Hide()
			file := downloadName(sec.stored.Key)
			if len(file) > 100 || !strings.HasSuffix(file, "-service-key.txt") {
				t.Errorf("proposed file name %q", file)
			}
			if w, _ := f.win.Content().MinSize().Components(); w > 900 {
				t.Errorf("the window needs %v wide for the name", w)
			}
		})
	}
}

// findAccordionHeader is the header button of tenant's section, as the
// user taps it.
func findAccordionHeader(t *testing.T, f *fixture, tenant string) *widget.Button {
	t.Helper()
	if b := findButton(f.win.Content(), f.w.secs.byTenant(tenant).item.Title); b != nil {
		return b
	}
	t.Fatalf("no header for %s", tenant)
	return nil
}

// A test that calmkeyctl records shows in the window at the next check,
// though no key changed: the check reads the history again, not the keys.
func TestTestRecordedByCLIShows(t *testing.T) {
	f := withKey(t, fixtureOpts{})
	f.check()
	if f.sec().last != nil {
		t.Fatal("a test shows before any ran")
	}
	f.record(okReport())
	from := len(f.backend.Calls())
	f.check()
	mustContain(t, "title", f.sec().item.Title, "logon works")
	if _, reload := keychainReads(f, from); reload != 0 {
		t.Errorf("a recorded test made the window read %d keychain items of the keys", reload)
	}
	if f.w.line.message.Visible() {
		t.Errorf("a recorded test is called a key change: %q", f.w.line.message.Text)
	}
}

// A damaged index names no tenant: the window offers to delete it, refuses
// new keys until then, and afterwards the keychain can be used again.
func TestDamagedIndexCanBeDeleted(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	if err := f.backend.Set(testService, vault.IndexItem, "{not an index"); err != nil {
		t.Fatal(err)
	}
	f.load()
	if !f.w.secs.corrupt() || len(f.w.secs.all) != 1 {
		t.Fatalf("state %v, %d sections: want one section for the damage", f.w.state, len(f.w.secs.all))
	}
	sec := f.w.secs.all[0]
	mustContain(t, "title", sec.item.Title, "Damaged service key — delete it")
	if !f.w.bar.upload.Disabled() || f.w.bar.testAll.Visible() {
		t.Error("a key can be added, or Test all runs, past a damaged index")
	}
	f.tap(sec.row.deleteButton)
	mustContain(t, "question", f.w.dialogs.delete.question.Text, "the damaged service key")
	f.w.dialogs.delete.dialog.Confirm()
	f.idle()
	f.drain(50 * time.Millisecond)
	if f.w.secs.corrupt() || f.w.state == stFailed {
		t.Fatalf("after deleting the damage: state %v, corrupt %v (%v)", f.w.state, f.w.secs.corrupt(), f.w.loadErr)
	}
	if f.w.bar.upload.Disabled() {
		t.Error("Upload is not offered after the damage was deleted")
	}
}

// A key an earlier calmkey stored under a look-alike of a tenant's name
// sits beside the real one: its section says so, the real one's does not.
func TestLookAlikeTenantFlagged(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{Tenant: "acme-prod"}), "")
	odd := "\u0430cme-prod" // Cyrillic а
	f.storeAsEarlier(testkeys.SecretKey(testkeys.Fields{Tenant: odd, UAAURL: "https://acme-prod.authentication.eu10.hana.ondemand.com"}), "old.txt")
	f.load()
	real, look := f.w.secs.byTenant("acme-prod"), f.w.secs.byTenant(odd)
	if real == nil || look == nil {
		t.Fatalf("sections %q", tenantsOf(f))
	}
	mustContain(t, "look-alike's title", look.item.Title, badNameTitle())
	if look.row.status.Importance != widget.WarningImportance {
		t.Errorf("look-alike's status %q is not a warning", look.row.status.Text)
	}
	mustNotContain(t, "real title", real.item.Title, badNameTitle())
	mustContain(t, "real status", real.row.status.Text, "Not tested yet")
}
