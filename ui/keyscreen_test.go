package ui

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
)

func TestWindowOpensBeforeTheKeychainAnswers(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	if len(f.s.accordion.Items) != 1 || f.s.accordion.Items[0].Title != "SAP Cloud ALM Service Key" {
		t.Fatalf("accordion items = %+v, want one section %q", f.s.accordion.Items, sectionTitle)
	}
	if !f.s.accordion.Items[0].Open {
		t.Error("the section is closed at start")
	}
	// New must not have touched the keychain: nothing is loaded yet.
	if f.s.state != stLoading || f.s.busy != 0 {
		t.Fatalf("state = %v busy = %d before Load, want loading and idle", f.s.state, f.s.busy)
	}
	for _, b := range []*widget.Button{f.s.upload, f.s.paste, f.s.display, f.s.download, f.s.del, f.s.testBtn} {
		if !b.Disabled() {
			t.Errorf("%s is enabled before the keychain answered", b.Text)
		}
	}
	f.load()
	if f.s.name.Text != "No service key" {
		t.Errorf("name = %q, want %q", f.s.name.Text, "No service key")
	}
}

func TestNoKeyOffersOnlyUpload(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.load()
	if f.s.state != stEmpty {
		t.Fatalf("state = %v, want empty", f.s.state)
	}
	for _, b := range []*widget.Button{f.s.upload, f.s.paste} {
		if b.Hidden || b.Disabled() {
			t.Errorf("%s is not offered with no key stored", b.Text)
		}
	}
	for _, b := range []*widget.Button{f.s.display, f.s.download, f.s.del, f.s.testBtn} {
		if !b.Hidden {
			t.Errorf("%s is offered with no key stored", b.Text)
		}
	}
	if f.s.details.Visible() {
		t.Error("details are shown with no key stored")
	}
	if f.s.message.Visible() {
		t.Errorf("a message shows with no key stored: %q", f.s.message.Text)
	}
}

func TestStoredKeyRowAndDetails(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "acme-key.txt")
	f.load()

	if f.s.state != stStored {
		t.Fatalf("state = %v (%v), want stored", f.s.state, f.s.loadErr)
	}
	if f.s.name.Text != testkeys.Tenant {
		t.Errorf("name = %q, want the tenant %q", f.s.name.Text, testkeys.Tenant)
	}
	if f.s.status.Text != "not tested yet" {
		t.Errorf("status = %q, want %q", f.s.status.Text, "not tested yet")
	}
	if !f.s.upload.Hidden || !f.s.paste.Hidden {
		t.Error("upload is offered while a key is stored")
	}
	for _, b := range []*widget.Button{f.s.display, f.s.download, f.s.del, f.s.testBtn} {
		if b.Hidden || b.Disabled() {
			t.Errorf("%s is not offered for a stored key", b.Text)
		}
	}
	if !f.s.details.Visible() {
		t.Fatal("details are hidden")
	}
	for label, want := range map[*widget.Label]string{
		f.s.region:      "eu10",
		f.s.clientID:    testkeys.ClientID,
		f.s.credType:    "binding-secret",
		f.s.apiEndpoint: "https://eu10.alm.cloud.sap/api",
	} {
		if label.Text != want {
			t.Errorf("detail = %q, want %q", label.Text, want)
		}
	}
	mustContain(t, "uploaded", f.s.uploaded.Text, "acme-key.txt", time.Now().Format("2006-01-02"))
	mustContain(t, "certificate expiry", f.s.certExpiry.Text, "none")
	mustNotContain(t, "the window", texts(f.win.Content()), testkeys.Secret)
}

func TestUndeclaredCredentialTypeIsSaid(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{Type: "-"}), "")
	f.load()
	mustContain(t, "credential type", f.s.credType.Text, "inferred")
}

func TestCertificateExpiryHighlightedWhenNear(t *testing.T) {
	ca := testkeys.NewCA(t)
	for _, tc := range []struct {
		name   string
		in     time.Duration
		imp    widget.Importance
		phrase string
	}{
		{"far", 90 * 24 * time.Hour, widget.MediumImportance, ""},
		{"near", 10*24*time.Hour + time.Hour, widget.WarningImportance, "in 10 days"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{})
			chain, keyPEM := ca.Client(t, testkeys.ClientID, time.Now().Add(tc.in), testkeys.ECDSA)
			k := f.storeKey(testkeys.X509Key(testkeys.Fields{}, chain, keyPEM), "x509.json")
			f.load()
			if f.s.certExpiry.Importance != tc.imp {
				t.Errorf("expiry importance = %v, want %v (%q)", f.s.certExpiry.Importance, tc.imp, f.s.certExpiry.Text)
			}
			mustContain(t, "certificate expiry", f.s.certExpiry.Text, k.CertExpiry.Local().Format("2006-01-02"), tc.phrase)
			if f.s.credType.Text != "x509" {
				t.Errorf("credential type = %q, want x509", f.s.credType.Text)
			}
		})
	}
}

func TestExpiryText(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		expiry time.Time
		imp    widget.Importance
		want   string
	}{
		{time.Time{}, widget.MediumImportance, "none"},
		{now.Add(-time.Hour), widget.DangerImportance, "expired"},
		{now.Add(2 * time.Hour), widget.WarningImportance, "today"},
		{now.Add(30 * time.Hour), widget.WarningImportance, "tomorrow"},
		{now.Add(29 * 24 * time.Hour), widget.WarningImportance, "in 29 days"},
		{now.Add(31 * 24 * time.Hour), widget.MediumImportance, "2026-12-28"},
	} {
		text, imp := expiryText(&vault.Key{CertExpiry: tc.expiry}, now)
		if imp != tc.imp || !strings.Contains(text, tc.want) {
			t.Errorf("expiry %v: got %q (%v), want %q (%v)", tc.expiry, text, imp, tc.want, tc.imp)
		}
	}
	// Around midnight, in the viewer's zone: an hour before midnight, a
	// certificate that ends an hour after it ends tomorrow, not today.
	tokyo := time.FixedZone("JST", 9*3600)
	late := time.Date(2026, 11, 27, 23, 0, 0, 0, tokyo)
	if text, _ := expiryText(&vault.Key{CertExpiry: late.Add(2 * time.Hour).UTC()}, late); !strings.Contains(text, "2026-11-28 01:00 (tomorrow)") {
		t.Errorf("an expiry two hours away, past midnight, reads %q", text)
	}
}

func TestKeychainUnavailableSaysWhatToDo(t *testing.T) {
	b := vault.NewMemoryBackend()
	b.FailOn("", fmt.Errorf("%w: %v", vault.ErrUnavailable, errBackendDown))
	f := newFixture(t, fixtureOpts{backend: b})
	f.load()

	if f.s.state != stFailed {
		t.Fatalf("state = %v, want failed", f.s.state)
	}
	mustContain(t, "message", f.s.message.Text, "could not be read", "cannot be reached", "try again")
	if f.s.message.Importance != widget.DangerImportance {
		t.Errorf("message importance = %v, want danger", f.s.message.Importance)
	}
	for _, b := range []*widget.Button{f.s.upload, f.s.paste} {
		if !b.Disabled() {
			t.Errorf("%s is enabled although the keychain cannot be reached", b.Text)
		}
	}
	if f.s.retry.Hidden {
		t.Fatal("no Try again")
	}

	// A drop or a paste meanwhile is refused with a reason.
	f.s.onDropped(fyne.Position{}, []fyne.URI{storage.NewFileURI(filepath.Join(t.TempDir(), "key.txt"))})
	mustContain(t, "notice after a drop", f.noticeText(), "keychain is not working")
	f.s.notice = nil
	f.s.onPaste()
	mustContain(t, "notice after a paste", f.noticeText(), "keychain is not working")
	if f.s.uploadView != nil || f.s.problems != nil {
		t.Error("a refused upload was checked anyway")
	}

	// The user fixes the keychain and tries again.
	b.Intercept(nil)
	f.s.notice.dialog.Dismiss()
	test.Tap(f.s.retry)
	f.idle()
	if f.s.state != stEmpty || f.s.message.Visible() || !f.s.retry.Hidden {
		t.Errorf("after Try again: state %v, message %q, retry hidden %v", f.s.state, f.s.message.Text, f.s.retry.Hidden)
	}
}

func TestDamagedKeyCanBeDeleted(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	if err := f.backend.Set(testService, vault.PartItem(testkeys.Tenant, 1), "garbage"); err != nil {
		t.Fatal(err)
	}
	f.load()
	if f.s.state != stFailed {
		t.Fatalf("state = %v, want failed", f.s.state)
	}
	mustContain(t, "message", f.s.message.Text, "damaged")
	if f.s.del.Hidden || f.s.del.Disabled() {
		t.Fatal("Delete is not offered for a damaged key")
	}
	if !f.s.upload.Hidden {
		t.Error("Upload is offered while a damaged key is stored")
	}
	test.Tap(f.s.del)
	mustContain(t, "question", f.s.confirmDel.question.Text, "damaged service key")
	f.s.confirmDel.dialog.Confirm()
	f.idle()
	if f.s.state != stEmpty {
		t.Fatalf("state = %v after deleting, want empty", f.s.state)
	}
	if n := keyItems(f); n != 0 {
		t.Errorf("items left in the keychain: %v", n)
	}
}

func TestSlowKeychainSaysItWaits(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	release := f.backend.Hang(vault.OpGet)
	t.Cleanup(release)
	f.s.slowAfter = 20 * time.Millisecond

	f.s.load()
	f.pumpUntil("the waiting message", func() bool { return f.s.waiting })
	mustContain(t, "message", f.s.message.Text, "waiting for the keychain (unlock it if your system asks)")
	if !f.s.message.Visible() {
		t.Error("the waiting message is hidden")
	}
	if !f.s.upload.Disabled() {
		t.Error("upload is enabled while the keychain has not answered")
	}

	release()
	f.idle()
	if f.s.state != stStored || f.s.waiting || f.s.message.Visible() {
		t.Errorf("after the answer: state %v, waiting %v, message %q", f.s.state, f.s.waiting, f.s.message.Text)
	}
}

func TestKeychainThatNeverAnswersTimesOut(t *testing.T) {
	b := vault.NewMemoryBackend()
	t.Cleanup(b.Hang(vault.OpGet))
	f := newFixture(t, fixtureOpts{backend: b, timeout: 100 * time.Millisecond})
	f.load()
	if f.s.state != stFailed {
		t.Fatalf("state = %v, want failed", f.s.state)
	}
	mustContain(t, "message", f.s.message.Text, "did not answer", "try again")
	if f.s.retry.Hidden {
		t.Error("no Try again after a timeout")
	}
}

func TestShortcutsActOnlyWhereTheirButtonIsOffered(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.load()
	mod := fyne.KeyModifierShortcutDefault

	// No key: Ctrl+D has nothing to display.
	f.shortcut(&desktop.CustomShortcut{KeyName: fyne.KeyD, Modifier: mod})
	if f.s.displayView != nil || f.overlayShown() {
		t.Fatal("Ctrl+D displayed something with no key stored")
	}
	// Ctrl+O opens the file dialog.
	opened := 0
	f.s.openFile = func(func(fyne.URIReadCloser, error)) { opened++ }
	f.shortcut(&desktop.CustomShortcut{KeyName: fyne.KeyO, Modifier: mod})
	if opened != 1 {
		t.Fatalf("Ctrl+O opened %d file dialogs, want 1", opened)
	}

	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.load()
	f.shortcut(&desktop.CustomShortcut{KeyName: fyne.KeyO, Modifier: mod})
	if opened != 1 {
		t.Error("Ctrl+O opened the file dialog while a key is stored")
	}
	f.shortcut(&desktop.CustomShortcut{KeyName: fyne.KeyD, Modifier: mod})
	if f.s.displayView == nil || !f.overlayShown() {
		t.Fatal("Ctrl+D did not display the key")
	}
	// With the dialog open, Ctrl+Delete must not act behind it.
	f.shortcut(&desktop.CustomShortcut{KeyName: fyne.KeyDelete, Modifier: mod})
	if f.s.confirmDel != nil {
		t.Error("Ctrl+Delete acted behind the open dialog")
	}
	f.s.displayView.dialog.Dismiss()
	f.shortcut(&desktop.CustomShortcut{KeyName: fyne.KeyDelete, Modifier: mod})
	if f.s.confirmDel == nil {
		t.Fatal("Ctrl+Delete did not ask to delete")
	}
	f.s.confirmDel.dialog.Dismiss()

	saves := 0
	f.s.saveFile = func(string, func(fyne.URIWriteCloser, error)) { saves++ }
	f.shortcut(&desktop.CustomShortcut{KeyName: fyne.KeyS, Modifier: mod})
	if saves != 1 {
		t.Errorf("Ctrl+S opened %d save dialogs, want 1", saves)
	}
	mustContain(t, "help", shortcutHelp(), "D display", "S download", "Delete delete", "T test", "O upload", "V paste")
}

func TestSafelyTurnsPanicsIntoErrors(t *testing.T) {
	quiet(t)
	err := safely("doing a thing", func() error { panic("secret-looking value 0a1b") })
	if err == nil {
		t.Fatal("no error from a panic")
	}
	mustContain(t, "error", err.Error(), "internal error while doing a thing")
	mustNotContain(t, "error", err.Error(), "0a1b")
}
