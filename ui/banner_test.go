package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
)

// x509KeyFor is an x509 key of tenant whose certificate ends at notAfter.
func x509KeyFor(t *testing.T, tenant string, notAfter time.Time) []byte {
	t.Helper()
	ca := testkeys.NewCA(t)
	chain, keyPEM := ca.Client(t, testkeys.ClientID, notAfter, testkeys.ECDSA)
	return testkeys.X509Key(testkeys.Fields{Tenant: tenant}, chain, keyPEM)
}

// setClock makes the window's now at, for what it computes from now on.
func (f *fixture) setClock(at time.Time) {
	f.w.seam.now = func() time.Time { return at }
}

// bannerText is what the banner says, "" when it is hidden.
func (f *fixture) bannerText() string {
	if !f.w.banner.box.Visible() {
		return ""
	}
	return texts(f.w.banner.box)
}

func TestBannerAtStartNamesExpiringAndFailed(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	// The format check refuses an expired certificate: this one expires
	// a minute after it is stored, and the window looks at it later.
	now := time.Now().Add(2 * time.Minute)
	f.setClock(now)
	f.storeKey(x509KeyFor(t, "soon-tenant", now.AddDate(0, 0, 5)), "")
	f.storeKey(x509KeyFor(t, "later-tenant", now.AddDate(0, 0, 45)), "")
	f.storeKey(x509KeyFor(t, "gone-tenant", time.Now().Add(time.Minute)), "")
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.record(rejectedReport()) // the secret key's tenant: f.stored() is the first by name, acme-cloudalm
	f.load()

	got := f.bannerText()
	mustContain(t, "the banner", got,
		"soon-tenant: the certificate expires in 5 days",
		"gone-tenant: the certificate expired on",
		testkeys.Tenant+": the last test failed")
	mustNotContain(t, "the banner", got, "later-tenant")
	// Expired first, as the sections' order has it; failed tests after the
	// certificates.
	if i, j := strings.Index(got, "gone-tenant"), strings.Index(got, testkeys.Tenant); i > j {
		t.Errorf("the failed test is named before a certificate:\n%s", got)
	}
	if len(f.w.banner.rows) != 3 {
		t.Errorf("%d rows, want 3", len(f.w.banner.rows))
	}
}

func TestBannerHiddenWithNothingToSay(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.storeKey(x509KeyFor(t, "later-tenant", time.Now().AddDate(0, 0, 31)), "")
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.record(okReport())
	f.load()
	if f.w.banner.box.Visible() {
		t.Errorf("the banner shows with nothing to say:\n%s", texts(f.w.banner.box))
	}
}

func TestBannerButtonOpensTheSection(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{Tenant: "alpha-tenant"}), "")
	f.storeKey(x509KeyFor(t, "zulu-tenant", time.Now().AddDate(0, 0, 3)), "")
	f.load()
	zulu := f.w.secs.byTenant("zulu-tenant")
	if zulu.item.Open || !f.w.secs.byTenant("alpha-tenant").item.Open {
		t.Fatal("the first section is not the open one at start")
	}
	b := findButton(f.w.banner.box, "Open")
	if b == nil {
		t.Fatalf("no Open in the banner:\n%s", f.bannerText())
	}
	test.Tap(b)
	if !zulu.item.Open || f.w.secs.byTenant("alpha-tenant").item.Open {
		t.Error("Open did not open zulu-tenant's section alone")
	}
}

func TestBannerClosedComesBackAtTheNextThreshold(t *testing.T) {
	app := test.NewTempApp(t)
	start := time.Now()
	notAfter := start.AddDate(0, 0, 20)
	key := x509KeyFor(t, testkeys.Tenant, notAfter)
	f := newFixture(t, fixtureOpts{app: app})
	f.setClock(start)
	f.storeKey(key, "")
	f.load()
	mustContain(t, "the banner at 20 days", f.bannerText(), "expires in 20 days")

	test.Tap(f.w.banner.close)
	if f.bannerText() != "" {
		t.Fatal("the banner stays after Close")
	}
	// Days pass without a threshold: it stays closed, also after a restart.
	f.setClock(notAfter.AddDate(0, 0, -8))
	f.w.render()
	f.close()
	g := newFixture(t, fixtureOpts{app: app, backend: f.backend, lockDir: f.lockDir, historyDir: f.historyDir})
	g.setClock(notAfter.AddDate(0, 0, -8))
	g.load()
	if got := g.bannerText(); got != "" {
		t.Fatalf("the closed banner came back after a restart, before the next threshold:\n%s", got)
	}
	// 7 days left: back, for this tenant.
	g.setClock(notAfter.AddDate(0, 0, -7))
	g.w.render()
	mustContain(t, "the banner at 7 days", g.bannerText(), testkeys.Tenant+": the certificate expires in 7 days")
	test.Tap(g.w.banner.close)
	g.setClock(notAfter.AddDate(0, 0, -2))
	g.w.render()
	if got := g.bannerText(); got != "" {
		t.Fatalf("the banner closed at 7 days is back at 2:\n%s", got)
	}
	g.setClock(notAfter.AddDate(0, 0, -1))
	g.w.render()
	mustContain(t, "the banner at 1 day", g.bannerText(), "expires tomorrow")
	test.Tap(g.w.banner.close)
	g.setClock(notAfter.Add(time.Minute))
	g.w.render()
	mustContain(t, "the banner once expired", g.bannerText(), "the certificate expired on")
	// What was closed and is over is forgotten: only the last threshold's
	// entry would be left after the next Close.
	if got := app.Preferences().StringList(prefDismissed); len(got) != 0 {
		t.Errorf("dismissed after the certificate expired = %q, want none left over", got)
	}
}

func TestBannerClosedForOneTenantLeavesAnother(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	now := time.Now()
	f.setClock(now)
	f.storeKey(x509KeyFor(t, "first-tenant", now.AddDate(0, 0, 10)), "")
	f.load()
	test.Tap(f.w.banner.close)
	// Another tenant's key arrives, expiring: the banner names it alone.
	f.storeKey(x509KeyFor(t, "second-tenant", now.AddDate(0, 0, 12)), "")
	f.check()
	got := f.bannerText()
	mustContain(t, "the banner", got, "second-tenant")
	mustNotContain(t, "the banner", got, "first-tenant")
}

func TestBannerNamesMostTenantsThenCounts(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	now := time.Now()
	f.setClock(now)
	for _, name := range []string{"t-one", "t-two", "t-three", "t-four", "t-five", "t-six"} {
		f.storeKey(x509KeyFor(t, name, now.AddDate(0, 0, 9)), "")
	}
	f.load()
	if len(f.w.banner.rows) != bannerMost {
		t.Errorf("%d rows, want %d", len(f.w.banner.rows), bannerMost)
	}
	mustContain(t, "the banner", f.bannerText(), "… and 2 more")
}

func TestCertLevelUsesVaultsDayCount(t *testing.T) {
	now := time.Date(2026, 12, 3, 23, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		notAfter time.Time
		level    int
		ok       bool
	}{
		{time.Time{}, 0, false},
		{now.AddDate(0, 0, 31), 0, false},
		{now.AddDate(0, 0, 30), 30, true},
		{now.AddDate(0, 0, 8), 30, true},
		{now.AddDate(0, 0, 7), 7, true},
		{now.Add(time.Hour), 1, true}, // tomorrow by the calendar, an hour away
		{now.Add(10 * time.Minute), 1, true},
		{now, 0, true},
	} {
		e := vault.CertExpiry(tc.notAfter, now)
		level, ok := certLevel(e)
		if level != tc.level || ok != tc.ok || ok != e.Within(vault.ExpiryWarningDays) {
			t.Errorf("certLevel(%s) = %d, %v; want %d, %v", e.Words(vault.TimeLayout), level, ok, tc.level, tc.ok)
		}
	}
}

// BenchmarkBannerCheck is the banner's work at each render and each
// minute's check, with 20 tenants of which 10 have a certificate ending in
// 10 days: "steady" when the banner already shows them (the usual case),
// "first" when it builds its rows (at start).
func BenchmarkBannerCheck(b *testing.B) {
	test.NewTempApp(b)
	now := time.Now()
	ca := testkeys.NewCA(b)
	secs := make([]*section, 20)
	for i := range secs {
		f := testkeys.Fields{Tenant: fmt.Sprintf("tenant-%02d", i)}
		data := testkeys.SecretKey(f)
		if i%2 == 1 {
			chain, keyPEM := ca.Client(b, f.Tenant, now.AddDate(0, 0, 10), testkeys.ECDSA)
			data = testkeys.X509Key(f, chain, keyPEM)
		}
		k, err := vault.Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		secs[i] = newSection(f.Tenant, func() time.Time { return now }, sectionActions{})
		secs[i].setKey(&vault.Stored{Key: k, UploadedAt: now}, nil, nil)
	}
	banner := newBanner(fyne.CurrentApp().Preferences(), func() time.Time { return now }, func(string) {})
	banner.update(secs, true)
	if len(banner.shown) != 10 {
		b.Fatalf("the banner names %d tenants, want 10", len(banner.shown))
	}
	b.Run("steady", func(b *testing.B) {
		for b.Loop() {
			banner.update(secs, true)
		}
	})
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			banner.shown = nil
			banner.update(secs, true)
		}
	})
}
