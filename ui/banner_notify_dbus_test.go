//go:build !windows && !darwin

package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/calmkey/calmkey/internal/harness"
	"github.com/calmkey/calmkey/internal/notify/notifytest"
	"github.com/calmkey/calmkey/internal/testkeys"
)

// The desktop is told once per threshold a certificate crosses while the
// window is open, through a notification service on the session bus (the
// test session's own). The notifier here waits for the service's answer,
// as the app's goroutine does, so the count is exact after each step.
func TestNotificationOncePerThreshold(t *testing.T) {
	harness.Require(t)
	fake := notifytest.Start(t)
	f := newFixture(t, fixtureOpts{})
	f.w.banner.notify = func(title, body string) {
		if err := sendNotification(title, body); err != nil {
			t.Errorf("notifying: %v", err)
		}
	}
	start := time.Now()
	notAfter := start.AddDate(0, 0, 40)
	f.setClock(start)
	f.storeKey(x509KeyFor(t, testkeys.Tenant, notAfter), "")
	f.load()
	if n := len(fake.Calls()); n != 0 {
		t.Fatalf("%d notifications with 40 days left, want none:\n%s", n, fake)
	}
	// Day by day to a day after the end, the minute's check twice a day
	// and a read of the keychain between: a notification at 30, 7 and 1
	// days left and at the end, none else.
	want := map[int]int{30: 1, 7: 2, 1: 3, 0: 4}
	calls := 0
	for d := 39; d >= -1; d-- {
		f.setClock(notAfter.AddDate(0, 0, -d))
		f.w.render()
		f.check()
		f.w.render()
		if n, ok := want[d]; ok {
			calls = n
		}
		if got := len(fake.Calls()); got != calls {
			t.Fatalf("%d days left: %d notifications, want %d:\n%s", d, got, calls, fake)
		}
	}
	got := fake.Calls()
	mustContain(t, "the first notification", got[0].Summary, "needs your attention")
	mustContain(t, "the first notification", got[0].Body, testkeys.Tenant+": the certificate expires in 30 days")
	mustContain(t, "the last notification", got[3].Body, testkeys.Tenant+": the certificate expired on")
}

// At start the desktop is told once of every certificate the banner names,
// in one notification; one the user closed is not told again.
func TestNotificationAtStart(t *testing.T) {
	harness.Require(t)
	fake := notifytest.Start(t)
	app := test.NewTempApp(t)
	f := newFixture(t, fixtureOpts{app: app})
	f.w.banner.notify = func(title, body string) {
		if err := sendNotification(title, body); err != nil {
			t.Errorf("notifying: %v", err)
		}
	}
	now := time.Now()
	f.setClock(now)
	f.storeKey(x509KeyFor(t, "first-tenant", now.AddDate(0, 0, 5)), "")
	f.storeKey(x509KeyFor(t, "second-tenant", now.AddDate(0, 0, 20)), "")
	f.storeKey(x509KeyFor(t, "third-tenant", now.AddDate(0, 0, 60)), "")
	f.load()
	f.w.render()
	calls := fake.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d notifications at start, want 1:\n%s", len(calls), fake)
	}
	mustContain(t, "the notification", calls[0].Summary, "2 service keys need your attention")
	mustContain(t, "the notification", calls[0].Body, "first-tenant: the certificate expires in 5 days", "second-tenant")
	mustNotContain(t, "the notification", calls[0].Body, "third-tenant")

	// Closed, then the app starts again: nothing new to tell.
	test.Tap(f.w.banner.close)
	f.close()
	g := newFixture(t, fixtureOpts{app: app, backend: f.backend, lockDir: f.lockDir, historyDir: f.historyDir})
	g.w.banner.notify = f.w.banner.notify
	g.setClock(now)
	g.load()
	if n := len(fake.Calls()); n != 1 {
		t.Errorf("%d notifications after a restart with the banner closed, want still 1:\n%s", n, fake)
	}
}
