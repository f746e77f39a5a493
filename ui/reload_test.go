package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
	"github.com/calmkey/calmkey/vault/vaulttest"
)

// keychainReads counts the keychain reads since from that read a key
// (a manifest or a part), not only the index that the stamp reads: each
// is part of a reload.
func keychainReads(f *fixture, from int) (all, reload int) {
	calls := f.backend.Calls()[from:]
	for _, c := range calls {
		if c.Op == vaulttest.OpGet {
			all++
			if c.User != vault.IndexItem {
				reload++
			}
		}
	}
	return all, reload
}

// Test all over ten tenants records ten tests in the shared history; the
// window's own records come back as a history change, which re-reads the
// history alone, never the keys.
func TestTestAllReloadsNoKey(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	for i := range 10 {
		f.storeKey(testkeys.SecretKey(testkeys.Fields{Tenant: fmt.Sprintf("tenant-%02d", i)}), "")
	}
	f.load()
	f.w.tests.run = func(context.Context, *vault.Key, almtest.Options) *almtest.Report {
		return okReport()
	}
	from := len(f.backend.Calls())
	test.Tap(f.w.bar.testAll)
	f.idle()
	f.pumpUntil("every test to finish", func() bool {
		for _, sec := range f.w.secs.all {
			if sec.running != nil {
				return false
			}
		}
		return true
	})
	f.check() // the watcher's next check sees the history's change
	all, reload := keychainReads(f, from)
	t.Logf("Test all over 10 tenants: %d keychain reads, %d of them reloading a key", all, reload)
	if lts := f.recorded(); len(lts) != 10 {
		t.Fatalf("%d tests recorded, want 10", len(lts))
	}
	// Only the index, for the stamps: the check before the tests and the
	// watcher's check after them.
	if reload != 0 || all != 2 {
		t.Errorf("Test all read the keychain %d times, %d of them reloading a key; want 2 reads of the index and no reload", all, reload)
	}
	for _, sec := range f.w.secs.all {
		if sec.last == nil || !sec.last.Report.OK || !strings.Contains(sec.item.Title, "logon works") {
			t.Errorf("%s: the test's result does not show: %q", sec.tenant, sec.item.Title)
		}
	}
	// The history was read again: the stamps are what is stored now.
	s, err := f.w.readStamps(t.Context())
	if err != nil || f.w.shown == nil || *f.w.shown != s {
		t.Errorf("the window shows stamps %v, the stamps are %v (%v)", f.w.shown, s, err)
	}
}
