package ui

import (
	"errors"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
)

func TestDeleteAsksNamingTenantWithDangerButton(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.load()

	test.Tap(f.s.del)
	v := f.s.confirmDel
	if v == nil || !f.overlayShown() {
		t.Fatal("Delete did not ask")
	}
	mustContain(t, "question", v.question.Text, testkeys.Tenant)
	mustContain(t, "reminder", v.reminder.Text, "stays valid", "SAP BTP cockpit", "delete it there too")
	b := findButton(f.win.Canvas().Overlays().Top(), "Delete")
	if b == nil {
		t.Fatal("no Delete button in the dialog")
	}
	if b.Importance != widget.DangerImportance {
		t.Errorf("the Delete button's importance = %v, want danger", b.Importance)
	}

	// Keep: nothing happens.
	v.dialog.Dismiss()
	f.drain(50 * time.Millisecond)
	if f.s.state != stStored || len(f.backend.Items(testService)) == 0 {
		t.Fatal("the key went although the user chose Keep")
	}

	// Delete: the key and its remembered test result go.
	f.s.saveLastTest(&lastTest{Tenant: testkeys.Tenant, OK: true})
	test.Tap(f.s.del)
	test.Tap(findButton(f.win.Canvas().Overlays().Top(), "Delete"))
	f.idle()
	if f.s.state != stEmpty || f.s.name.Text != "No service key" {
		t.Errorf("after deleting: state %v, name %q", f.s.state, f.s.name.Text)
	}
	if n := keyItems(f); n != 0 {
		t.Errorf("%d items left in the keychain", n)
	}
	if f.app.Preferences().String(prefLastTest) != "" {
		t.Error("the deleted key's test result is still remembered")
	}
	if f.s.upload.Hidden || f.s.upload.Disabled() {
		t.Error("Upload is not offered after deleting")
	}
}

func TestDeleteFailureKeepsKey(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.load()
	f.backend.Intercept(func(c vault.Call) error {
		if c.Op == vault.OpDelete || c.Op == vault.OpDeleteAll {
			return errors.Join(vault.ErrUnavailable, errBackendDown)
		}
		return nil
	})
	test.Tap(f.s.del)
	f.s.confirmDel.dialog.Confirm()
	f.idle()
	mustContain(t, "notice", f.noticeText(), "was not deleted", "cannot be reached")
	if f.s.state != stStored {
		t.Errorf("state = %v after a failed delete, want stored", f.s.state)
	}
	if f.s.del.Disabled() {
		t.Error("Delete is not offered again")
	}
}

func TestDeleteWhenAlreadyGone(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.load()
	// calmkeyctl deleted it meanwhile.
	if err := f.store.Delete(t.Context(), testkeys.Tenant); err != nil {
		t.Fatal(err)
	}
	test.Tap(f.s.del)
	f.s.confirmDel.dialog.Confirm()
	f.idle()
	if f.s.state != stEmpty || f.s.notice != nil {
		t.Errorf("state %v, notice %q; want empty and no complaint", f.s.state, f.noticeText())
	}
}
