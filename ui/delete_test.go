package ui

import (
	"errors"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
	"github.com/calmkey/calmkey/vault/vaulttest"
)

func TestDeleteAsksNamingTenantWithDangerButton(t *testing.T) {
	f := withKey(t, fixtureOpts{})

	f.tap(f.sec().row.deleteButton)
	v := f.w.dialogs.delete
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
	if f.w.state != stStored || len(f.backend.Items(testService)) == 0 {
		t.Fatal("the key went although the user chose Keep")
	}

	// Delete: the key and its remembered test result go.
	f.record(okReport())
	f.tap(f.sec().row.deleteButton)
	test.Tap(findButton(f.win.Canvas().Overlays().Top(), "Delete"))
	f.idle()
	f.drain(50 * time.Millisecond)
	if f.w.state != stEmpty || len(f.w.secs.all) != 0 || !f.w.line.dropHint.Visible() {
		t.Errorf("after deleting: state %v, %d sections, hint shown %v", f.w.state, len(f.w.secs.all), f.w.line.dropHint.Visible())
	}
	if n := keyItems(f); n != 0 {
		t.Errorf("%d items left in the keychain", n)
	}
	if len(f.recorded()) != 0 {
		t.Error("the deleted key's test result is still remembered")
	}
	if f.w.bar.upload.Hidden || f.w.bar.upload.Disabled() {
		t.Error("Upload is not offered after deleting")
	}
}

func TestDeleteFailureKeepsKey(t *testing.T) {
	f := withKey(t, fixtureOpts{})
	f.backend.Intercept(func(c vaulttest.Call) error {
		if c.Op == vaulttest.OpDelete {
			return errors.Join(vault.ErrUnavailable, errBackendDown)
		}
		return nil
	})
	f.tap(f.sec().row.deleteButton)
	f.w.dialogs.delete.dialog.Confirm()
	f.idle()
	mustContain(t, "notice", f.noticeText(), "was not deleted", "cannot be reached")
	if f.w.state != stStored {
		t.Errorf("state = %v after a failed delete, want stored", f.w.state)
	}
	if f.sec().row.deleteButton.Disabled() {
		t.Error("Delete is not offered again")
	}
}

// calmkeyctl deleted the key before Delete was pressed: the window reads
// the keychain again, shows that it is gone and says so, and asks nothing.
func TestDeleteWhenAlreadyGone(t *testing.T) {
	f := withKey(t, fixtureOpts{})
	f.deleteUnderneath()
	f.tap(f.sec().row.deleteButton)
	f.idle()
	if f.w.dialogs.delete != nil {
		t.Error("Delete asked about a key that is gone")
	}
	if f.w.state != stEmpty || len(f.w.secs.all) != 0 {
		t.Errorf("state %v, %d sections; want no key", f.w.state, len(f.w.secs.all))
	}
	mustContain(t, "notice", f.noticeText(), "deleted by another program", "Nothing was deleted from here")
	mustContain(t, "message", f.w.line.message.Text, "The key of tenant "+testkeys.Tenant+" was deleted by another program")
}

// calmkeyctl deleted the key while the question was open: the outcome the
// user asked for holds, without complaint.
func TestDeleteConfirmedAfterItWasGone(t *testing.T) {
	f := withKey(t, fixtureOpts{})
	f.tap(f.sec().row.deleteButton)
	f.deleteUnderneath()
	f.w.dialogs.delete.dialog.Confirm()
	f.idle()
	if f.w.state != stEmpty || f.w.dialogs.notice != nil {
		t.Errorf("state %v, notice %q; want empty and no complaint", f.w.state, f.noticeText())
	}
}

// Another program replaced the key while the question was open: the new key
// is not deleted without asking again.
func TestDeleteDoesNotDeleteAKeyReplacedUnderneath(t *testing.T) {
	f := withKey(t, fixtureOpts{})
	f.tap(f.sec().row.deleteButton)
	mustContain(t, "question", f.w.dialogs.delete.question.Text, testkeys.Tenant)

	f.deleteUnderneath()
	f.storeKey(testkeys.SecretKey(testkeys.Fields{ClientID: "sb-ctl!b1|sapcloudalm!b16907"}), "ctl.txt")
	f.w.dialogs.delete.dialog.Confirm()
	f.idle() // the delete, refused
	f.idle() // the read it starts
	if st, err := f.stored(); err != nil || st.Key.ClientID != "sb-ctl!b1|sapcloudalm!b16907" {
		t.Fatalf("the replacing key was deleted: %v %v", st, err)
	}
	mustContain(t, "notice", f.noticeText(), "was not deleted", "replaced the service key of tenant "+testkeys.Tenant+" after you were asked", "delete it again")
	if f.sec().facts.label(vault.FactClientID).Text != "sb-ctl!b1|sapcloudalm!b16907" {
		t.Errorf("the window shows client %q, want the key stored now", f.sec().facts.label(vault.FactClientID).Text)
	}

	// Asked again, it is deleted.
	f.w.dialogs.notice.dialog.Hide()
	f.tap(f.sec().row.deleteButton)
	mustContain(t, "question", f.w.dialogs.delete.question.Text, testkeys.Tenant)
	f.w.dialogs.delete.dialog.Confirm()
	f.idle()
	if _, err := f.stored(); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("after asking again: %v", err)
	}
}

// Another calmkey holds the keychain lock: the delete says so and offers
// Try again, which then works.
func TestDeleteWhileKeychainBusy(t *testing.T) {
	f := withKey(t, fixtureOpts{timeout: 300 * time.Millisecond})
	f.tap(f.sec().row.deleteButton)
	release := f.holdLock()
	f.w.dialogs.delete.dialog.Confirm()
	f.idle()
	n := f.retryNotice()
	mustContain(t, "notice", f.noticeText(), "was not deleted", "another calmkey is changing the key; try again")
	if len(f.backend.Items(testService)) == 0 {
		t.Fatal("the key went although the keychain was busy")
	}
	release()
	n.retry.Confirm()
	f.idle()
	if _, err := f.stored(); !errors.Is(err, vault.ErrNotFound) || f.w.state != stEmpty {
		t.Errorf("after Try again: state %v, %v", f.w.state, err)
	}
}
