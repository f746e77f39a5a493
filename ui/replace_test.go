package ui

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
)

// oldClientID is the stored key's client id in the replace tests: the new
// key (the fake's) has another, so "was …" can be told apart.
const oldClientID = "sb-calmkey-old!b123456|sapcloudalm!b16907"

// tapReplace taps Replace… in the section, with the file dialog answering
// with a file holding data, and waits until the new key was checked.
func (f *fixture) tapReplace(sec *section, data []byte) {
	f.t.Helper()
	f.pickFile(keyFile(f.t, "new-key.txt", data))
	f.w.dialogs.notice, f.w.dialogs.replace, f.w.dialogs.problems = nil, nil, nil
	f.tap(sec.rotation.button)
	f.pumpUntil("the new key's check", func() bool {
		return f.w.dialogs.replace != nil || f.w.dialogs.notice != nil || f.w.dialogs.problems != nil
	})
}

// confirmReplace answers Test and replace and waits for the test, the swap
// and the read after it.
func (f *fixture) confirmReplace() {
	f.t.Helper()
	v := f.w.dialogs.replace
	if v == nil {
		f.t.Fatalf("no question before the replacement; notice %q", f.noticeText())
	}
	v.confirm.Confirm()
	f.idle()
}

func TestReplaceTestsThenSwapsAndRecords(t *testing.T) {
	f, srv := almFixture(t, fixtureOpts{})
	f.storeKey(srv.SecretKeyWith(testkeys.Fields{ClientID: oldClientID}), "old-key.txt")
	f.load()
	sec := f.sec()
	if sec.rotation.button.Hidden || sec.rotation.button.Disabled() {
		t.Fatal("Replace… is not offered for a stored key")
	}
	newKey := srv.X509Key()
	f.tapReplace(sec, newKey)
	v := f.w.dialogs.replace
	if v == nil {
		t.Fatalf("no question; notice %q", f.noticeText())
	}
	mustContain(t, "the question", texts(f.win.Canvas().Overlays().Top()), "Replace the service key of tenant "+testkeys.Tenant, oldClientID, "first tests")
	if st, _ := f.stored(); st.Key.ClientID != oldClientID {
		t.Fatal("the key was replaced before the user confirmed")
	}

	f.confirmReplace()
	mustContain(t, "the notice", f.noticeText(), "The key was replaced", "update the managed systems", "delete the old key")
	st, err := f.stored()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(st.Key.Bytes(), newKey) || st.FileName != "new-key.txt" {
		t.Fatalf("the keychain holds %q from %q, want the new key", st.Key.ClientID, st.FileName)
	}
	// The section shows the new key, its test (the one that let it in) as
	// the last test, and the replacement.
	sec = f.sec()
	if sec.last == nil || !sec.last.Report.OK || !sec.last.Of(st.Summary()) {
		t.Fatalf("the last test shown is %+v, want the new key's", sec.last)
	}
	f.w.render()
	mustContain(t, "the replacement line", sec.rotation.label.Text, "Replaced "+formatTime(st.UploadedAt), "was "+oldClientID)
	// Both are kept for calmkeyctl and the next start.
	if lt := f.recorded().For(st.Summary()); lt == nil || !lt.Report.OK {
		t.Errorf("the record's last test = %+v, want the new key's", lt)
	}
	rs, err := f.history.Replacements(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r := rs.Last(st.Summary()); r == nil || r.OldClientID != oldClientID {
		t.Errorf("recorded replacement = %+v", r)
	}
	// After a restart the line is read from the record.
	f.close()
	g := newFixture(t, fixtureOpts{backend: f.backend, lockDir: f.lockDir, historyDir: f.historyDir})
	g.load()
	mustContain(t, "the replacement line after a restart", g.sec().rotation.label.Text, "was "+oldClientID)
}

func TestReplaceRefusesAnotherTenantsKey(t *testing.T) {
	f, srv := almFixture(t, fixtureOpts{})
	old := srv.SecretKeyWith(testkeys.Fields{ClientID: oldClientID})
	f.storeKey(old, "")
	f.load()
	f.tapReplace(f.sec(), srv.SecretKeyWith(testkeys.Fields{Tenant: "other-tenant"}))
	if f.w.dialogs.replace != nil {
		t.Fatal("another tenant's key was offered as a replacement")
	}
	mustContain(t, "the notice", f.noticeText(), "Nothing was replaced", "for tenant other-tenant", "stored key is for tenant "+testkeys.Tenant)
	if st, _ := f.stored(); !bytes.Equal(st.Key.Bytes(), old) {
		t.Error("the stored key changed")
	}
	if len(srv.Requests()) != 0 {
		t.Errorf("%d requests: the key was tested", len(srv.Requests()))
	}
}

func TestReplaceWithTheStoredKeySaysAlreadyStored(t *testing.T) {
	f, srv := almFixture(t, fixtureOpts{})
	old := srv.SecretKey()
	f.storeKey(old, "old-key.txt")
	f.load()
	before, _ := f.stored()
	f.tapReplace(f.sec(), old)
	if f.w.dialogs.replace != nil {
		t.Fatal("the stored key itself was offered as a replacement")
	}
	mustContain(t, "the notice", f.noticeText(), "Already stored", "already stored for tenant "+testkeys.Tenant, "Nothing was changed")
	if st, _ := f.stored(); !st.UploadedAt.Equal(before.UploadedAt) || st.FileName != "old-key.txt" {
		t.Error("the stored key was written again")
	}
	if len(srv.Requests()) != 0 {
		t.Errorf("%d requests: the key was tested", len(srv.Requests()))
	}
}

func TestReplaceWhoseTestFailsLeavesTheOldKey(t *testing.T) {
	f, srv := almFixture(t, fixtureOpts{})
	old := srv.SecretKey()
	f.storeKey(old, "old-key.txt")
	f.load()
	f.tapReplace(f.sec(), srv.SecretKeyWith(testkeys.Fields{Secret: "wrong-secret-0000-TEST"}))
	f.confirmReplace()
	v := f.w.dialogs.replace
	if v.failed == nil || v.result == nil {
		t.Fatalf("no diagnosis shown; notice %q", f.noticeText())
	}
	diag := texts(f.win.Canvas().Overlays().Top())
	mustContain(t, "the diagnosis", diag, "did not log on", "nothing was replaced", "stored key is unchanged", outcomeWords(v.failed))
	mustNotContain(t, "the diagnosis", diag, "wrong-secret-0000-TEST", testkeys.Secret)
	st, err := f.stored()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(st.Key.Bytes(), old) || st.FileName != "old-key.txt" {
		t.Error("the old key was changed by a replacement whose test failed")
	}
	// The failed test is the new key's: the stored key's record stays.
	if lt := f.recorded().For(st.Summary()); lt != nil {
		t.Errorf("the failed test of the new key was recorded as the stored key's: %+v", lt)
	}
	if rs, _ := f.history.Replacements(context.Background()); len(rs) != 0 {
		t.Errorf("a replacement was recorded: %+v", rs)
	}
	if f.sec().rotation.label.Text != "" {
		t.Errorf("the section says %q", f.sec().rotation.label.Text)
	}
}

// An upload whose tenant already has a key offers Replace… with the key
// it read, rather than only refusing.
func TestUploadOfStoredTenantOffersReplace(t *testing.T) {
	f, srv := almFixture(t, fixtureOpts{})
	f.storeKey(srv.SecretKeyWith(testkeys.Fields{ClientID: oldClientID}), "")
	f.load()
	newKey := srv.X509Key()
	f.pickFile(keyFile(t, "new-key.txt", newKey))
	test.Tap(f.w.bar.upload)
	f.pumpUntil("the offer to replace", func() bool { return f.w.dialogs.replace != nil || f.w.dialogs.notice != nil })
	v := f.w.dialogs.replace
	if v == nil {
		t.Fatalf("the upload only refused: %q", f.noticeText())
	}
	mustContain(t, "the offer", v.question.Text, "already has a service key", oldClientID, "only one is kept", "Replace it with this one")
	f.confirmReplace()
	st, err := f.stored()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(st.Key.Bytes(), newKey) {
		t.Errorf("the keychain holds %q, want the new key", st.Key.ClientID)
	}
}

// A key that another program put in while the question was open is not
// replaced from here: the swap replaces only the key the user was shown.
func TestReplaceNeverReplacesAKeyChangedUnderneath(t *testing.T) {
	f, srv := almFixture(t, fixtureOpts{})
	f.storeKey(srv.SecretKeyWith(testkeys.Fields{ClientID: oldClientID}), "")
	f.load()
	f.tapReplace(f.sec(), srv.X509Key())
	if f.w.dialogs.replace == nil {
		t.Fatalf("no question; notice %q", f.noticeText())
	}
	// calmkeyctl puts a third key in meanwhile; the window shows it.
	f.deleteUnderneath()
	third := srv.SecretKeyWith(testkeys.Fields{ClientID: "sb-third!b3|sapcloudalm!b16907"})
	f.storeKey(third, "third.txt")
	f.check()
	f.confirmReplace()
	mustContain(t, "the notice", f.noticeText(), "The key was not replaced")
	st, err := f.stored()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(st.Key.Bytes(), third) {
		t.Errorf("the keychain holds %q, want the key calmkeyctl stored", st.Key.ClientID)
	}
	if rs, _ := f.history.Replacements(context.Background()); len(rs) != 0 {
		t.Errorf("a replacement was recorded: %+v", rs)
	}
}

// The new key's test takes one of the window's test slots, as a Test
// does, and gives it back whether the key logs on or not: beside Test
// all, no more than almtest.TestsAtOnce tests run.
func TestReplaceTestTakesATestSlot(t *testing.T) {
	f, srv := almFixture(t, fixtureOpts{})
	f.storeKey(srv.SecretKeyWith(testkeys.Fields{ClientID: oldClientID}), "old-key.txt")
	f.load()
	// Every slot but one is taken, as by Test all's tests.
	others := almtest.TestsAtOnce - 1
	for range others {
		f.w.tests.slots <- struct{}{}
	}
	var inFlight atomic.Int64
	run := f.w.tests.run
	f.w.tests.run = func(ctx context.Context, k *vault.Key, o almtest.Options) *almtest.Report {
		inFlight.Store(int64(len(f.w.tests.slots)))
		return run(ctx, k, o)
	}
	for _, c := range []struct {
		name string
		key  []byte
	}{
		{"a key that does not log on", srv.SecretKeyWith(testkeys.Fields{Secret: "wrong-secret-0000-TEST"})},
		{"a key that logs on", srv.X509Key()},
	} {
		inFlight.Store(-1)
		f.tapReplace(f.sec(), c.key)
		f.confirmReplace()
		if got := inFlight.Load(); got != almtest.TestsAtOnce {
			t.Errorf("%s: %d test slots were taken while it was tested, want %d (its own among them)", c.name, got, almtest.TestsAtOnce)
		}
		if got := len(f.w.tests.slots); got != others {
			t.Errorf("%s: %d test slots are taken after the replacement, want %d (its own given back)", c.name, got, others)
		}
	}
	if st, _ := f.stored(); st.Key.ClientID == oldClientID {
		t.Error("the key that logs on did not replace the old one")
	}
}
