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
	"github.com/calmkey/calmkey/vault/vaulttest"
)

func TestWindowOpensBeforeTheKeychainAnswers(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	if len(f.w.secs.accordion.Items) != 0 {
		t.Fatalf("accordion items = %+v before the keychain answered, want none", f.w.secs.accordion.Items)
	}
	// New must not have touched the keychain: nothing is loaded yet.
	if f.w.state != stLoading || !f.w.busy.idle() {
		t.Fatalf("state = %v busy = %d before Load, want loading and idle", f.w.state, f.w.busy.id)
	}
	for _, b := range []*widget.Button{f.w.bar.upload, f.w.bar.paste, f.w.bar.testAll} {
		if b.Visible() && !b.Disabled() {
			t.Errorf("%s is offered before the keychain answered", b.Text)
		}
	}
	mustContain(t, "message", f.w.line.message.Text, "Reading the service keys")
	f.load()
	if !f.w.line.dropHint.Visible() || !strings.HasPrefix(f.w.line.dropHint.Text, "No service key is stored yet.") || f.w.line.message.Visible() {
		t.Errorf("with no key: hint %q, message %q", f.w.line.dropHint.Text, f.w.line.message.Text)
	}
}

func TestNoKeyOffersOnlyUpload(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.load()
	if f.w.state != stEmpty {
		t.Fatalf("state = %v, want empty", f.w.state)
	}
	for _, b := range []*widget.Button{f.w.bar.upload, f.w.bar.paste} {
		if b.Hidden || b.Disabled() {
			t.Errorf("%s is not offered with no key stored", b.Text)
		}
	}
	if f.w.bar.testAll.Visible() {
		t.Error("Test all is offered with no key stored")
	}
	if len(f.w.secs.all) != 0 || len(f.w.secs.accordion.Items) != 0 {
		t.Errorf("%d sections with no key stored", len(f.w.secs.all))
	}
	if !f.w.line.dropHint.Visible() {
		t.Error("the window does not say how to add a key")
	}
}

func TestStoredKeyRowAndDetails(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "acme-key.txt")
	f.load()

	if f.w.state != stStored {
		t.Fatalf("state = %v (%v), want stored", f.w.state, f.w.loadErr)
	}
	if f.sec().row.name.Text != testkeys.Tenant {
		t.Errorf("name = %q, want the tenant %q", f.sec().row.name.Text, testkeys.Tenant)
	}
	if f.sec().row.status.Text != "Not tested yet" {
		t.Errorf("status = %q, want %q", f.sec().row.status.Text, "Not tested yet")
	}
	// Another tenant's key can be added beside it; all can be tested.
	for _, b := range []*widget.Button{f.w.bar.upload, f.w.bar.paste, f.w.bar.testAll} {
		if b.Hidden || b.Disabled() {
			t.Errorf("%s is not offered while a key is stored", b.Text)
		}
	}
	if f.w.line.dropHint.Visible() {
		t.Error("the hint for an empty keychain shows beside a key")
	}
	for _, b := range []*widget.Button{f.sec().row.displayButton, f.sec().row.downloadButton, f.sec().row.deleteButton, f.sec().row.testButton} {
		if b.Hidden || b.Disabled() {
			t.Errorf("%s is not offered for a stored key", b.Text)
		}
	}
	if !f.sec().facts.form.Visible() {
		t.Fatal("details are hidden")
	}
	for label, want := range map[*widget.Label]string{
		f.sec().facts.label(vault.FactRegion):         "eu10",
		f.sec().facts.label(vault.FactClientID):       testkeys.ClientID,
		f.sec().facts.label(vault.FactCredentialType): "binding-secret",
		f.sec().facts.label(vault.FactAPIEndpoint):    "https://eu10.alm.cloud.sap/api",
	} {
		if label.Text != want {
			t.Errorf("detail = %q, want %q", label.Text, want)
		}
	}
	// The upload time as stored, in the viewer's zone: no guess at "today".
	st, err := f.stored()
	if err != nil {
		t.Fatal(err)
	}
	if want := st.UploadedAt.Local().Format(vault.TimeLayout) + " from acme-key.txt"; f.sec().facts.label(vault.FactUploaded).Text != want {
		t.Errorf("uploaded = %q, want %q", f.sec().facts.label(vault.FactUploaded).Text, want)
	}
	mustContain(t, "certificate expiry", f.sec().facts.label(vault.FactCertExpiry).Text, "none")
	mustNotContain(t, "the window", texts(f.win.Content()), testkeys.Secret)
}

func TestUndeclaredCredentialTypeIsSaid(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{Type: "-"}), "")
	f.load()
	mustContain(t, "credential type", f.sec().facts.label(vault.FactCredentialType).Text, "inferred")
}

func TestCertificateExpiryHighlightedWhenNear(t *testing.T) {
	ca := testkeys.NewCA(t)
	for _, tc := range []struct {
		name   string
		days   int
		imp    widget.Importance
		phrase string
	}{
		{"far", 90, widget.MediumImportance, "in 90 days"},
		{"near", 10, widget.WarningImportance, "in 10 days"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The window's clock stands still, and the certificate ends the
			// given number of calendar days later at the same wall-clock
			// time: the same days whatever the zone or the time of day.
			f := newFixture(t, fixtureOpts{})
			now := time.Now()
			f.w.seam.now = func() time.Time { return now }
			chain, keyPEM := ca.Client(t, testkeys.ClientID, now.AddDate(0, 0, tc.days), testkeys.ECDSA)
			k := f.storeKey(testkeys.X509Key(testkeys.Fields{}, chain, keyPEM), "x509.json")
			f.load()
			if f.sec().facts.label(vault.FactCertExpiry).Importance != tc.imp {
				t.Errorf("expiry importance = %v, want %v (%q)", f.sec().facts.label(vault.FactCertExpiry).Importance, tc.imp, f.sec().facts.label(vault.FactCertExpiry).Text)
			}
			mustContain(t, "certificate expiry", f.sec().facts.label(vault.FactCertExpiry).Text, k.CertExpiry.Local().Format(vault.TimeLayout)+" ("+tc.phrase+")")
			if f.sec().facts.label(vault.FactCredentialType).Text != "x509" {
				t.Errorf("credential type = %q, want x509", f.sec().facts.label(vault.FactCredentialType).Text)
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
		text, imp := expiryText(tc.expiry, now)
		if imp != tc.imp || !strings.Contains(text, tc.want) {
			t.Errorf("expiry %v: got %q (%v), want %q (%v)", tc.expiry, text, imp, tc.want, tc.imp)
		}
	}
	// Around midnight, in the viewer's zone: an hour before midnight, a
	// certificate that ends an hour after it ends tomorrow, not today.
	tokyo := time.FixedZone("JST", 9*3600)
	late := time.Date(2026, 11, 27, 23, 0, 0, 0, tokyo)
	if text, _ := expiryText(late.Add(2*time.Hour).UTC(), late); !strings.Contains(text, "2026-11-28 01:00 JST (tomorrow)") {
		t.Errorf("an expiry two hours away, past midnight, reads %q", text)
	}
}

func TestKeychainUnavailableSaysWhatToDo(t *testing.T) {
	b := vaulttest.NewMemoryBackend()
	b.FailOn("", fmt.Errorf("%w: %v", vault.ErrUnavailable, errBackendDown))
	f := newFixture(t, fixtureOpts{backend: b})
	f.load()

	if f.w.state != stFailed {
		t.Fatalf("state = %v, want failed", f.w.state)
	}
	mustContain(t, "message", f.w.line.message.Text, "could not be read", "cannot be reached", "try again")
	if f.w.line.message.Importance != widget.DangerImportance {
		t.Errorf("message importance = %v, want danger", f.w.line.message.Importance)
	}
	for _, b := range []*widget.Button{f.w.bar.upload, f.w.bar.paste} {
		if !b.Disabled() {
			t.Errorf("%s is enabled although the keychain cannot be reached", b.Text)
		}
	}
	if f.w.line.retry.Hidden {
		t.Fatal("no Try again")
	}

	// A drop or a paste meanwhile is refused with a reason.
	f.w.onDropped(fyne.Position{}, []fyne.URI{storage.NewFileURI(filepath.Join(t.TempDir(), "key.txt"))})
	mustContain(t, "notice after a drop", f.noticeText(), "keychain is not working")
	f.w.dialogs.notice = nil
	f.w.onPaste()
	mustContain(t, "notice after a paste", f.noticeText(), "keychain is not working")
	if f.w.dialogs.upload != nil || f.w.dialogs.problems != nil {
		t.Error("a refused upload was checked anyway")
	}

	// The user fixes the keychain and tries again.
	b.Intercept(nil)
	f.w.dialogs.notice.dialog.Dismiss()
	test.Tap(f.w.line.retry)
	f.idle()
	if f.w.state != stEmpty || f.w.line.message.Visible() || !f.w.line.retry.Hidden {
		t.Errorf("after Try again: state %v, message %q, retry hidden %v", f.w.state, f.w.line.message.Text, f.w.line.retry.Hidden)
	}
}

func TestDamagedKeyCanBeDeleted(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	if err := f.backend.Set(testService, vault.PartItem(testkeys.Tenant, 1), "garbage"); err != nil {
		t.Fatal(err)
	}
	f.load()
	if f.w.state != stStored || f.sec().stored != nil {
		t.Fatalf("state = %v, want a section for the damaged key", f.w.state)
	}
	mustContain(t, "status", f.sec().row.status.Text, "Damaged service key", "delete it")
	mustContain(t, "title", f.sec().item.Title, testkeys.Tenant, "damaged key")
	if f.sec().row.deleteButton.Hidden || f.sec().row.deleteButton.Disabled() {
		t.Fatal("Delete is not offered for a damaged key")
	}
	for _, b := range []*widget.Button{f.sec().row.displayButton, f.sec().row.downloadButton, f.sec().row.testButton} {
		if b.Visible() {
			t.Errorf("%s is offered for a damaged key", b.Text)
		}
	}
	// Other tenants' keys can still be added.
	if f.w.bar.upload.Hidden || f.w.bar.upload.Disabled() {
		t.Error("Upload is not offered beside a damaged key")
	}
	f.tap(f.sec().row.deleteButton)
	mustContain(t, "question", f.w.dialogs.delete.question.Text, "damaged service key")
	f.w.dialogs.delete.dialog.Confirm()
	f.idle()
	if f.w.state != stEmpty {
		t.Fatalf("state = %v after deleting, want empty", f.w.state)
	}
	if n := keyItems(f); n != 0 {
		t.Errorf("items left in the keychain: %v", n)
	}
}

func TestSlowKeychainSaysItWaits(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	release := f.backend.Hang(vaulttest.OpGet)
	t.Cleanup(release)
	f.w.busy.slowAfter = 20 * time.Millisecond

	f.w.load()
	f.pumpUntil("the waiting message", func() bool { return f.w.busy.waiting })
	mustContain(t, "message", f.w.line.message.Text, "waiting for the keychain (unlock it if your system asks)")
	if !f.w.line.message.Visible() {
		t.Error("the waiting message is hidden")
	}
	if !f.w.bar.upload.Disabled() {
		t.Error("upload is enabled while the keychain has not answered")
	}

	release()
	f.idle()
	if f.w.state != stStored || f.w.busy.waiting || f.w.line.message.Visible() {
		t.Errorf("after the answer: state %v, waiting %v, message %q", f.w.state, f.w.busy.waiting, f.w.line.message.Text)
	}
}

func TestKeychainThatNeverAnswersTimesOut(t *testing.T) {
	b := vaulttest.NewMemoryBackend()
	t.Cleanup(b.Hang(vaulttest.OpGet))
	f := newFixture(t, fixtureOpts{backend: b, timeout: 100 * time.Millisecond})
	f.load()
	if f.w.state != stFailed {
		t.Fatalf("state = %v, want failed", f.w.state)
	}
	mustContain(t, "message", f.w.line.message.Text, "did not answer", "try again")
	if f.w.line.retry.Hidden {
		t.Error("no Try again after a timeout")
	}
}

func TestShortcutsActOnlyWhereTheirButtonIsOffered(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.load()
	mod := fyne.KeyModifierShortcutDefault

	// No key: Ctrl+D has nothing to display.
	f.shortcut(&desktop.CustomShortcut{KeyName: fyne.KeyD, Modifier: mod})
	if f.w.dialogs.display != nil || f.overlayShown() {
		t.Fatal("Ctrl+D displayed something with no key stored")
	}
	// Ctrl+O opens the file dialog.
	opened := 0
	f.w.seam.openFile = func(func(fyne.URIReadCloser, error)) { opened++ }
	f.shortcut(&desktop.CustomShortcut{KeyName: fyne.KeyO, Modifier: mod})
	if opened != 1 {
		t.Fatalf("Ctrl+O opened %d file dialogs, want 1", opened)
	}

	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.load()
	// With a key stored, Ctrl+O still adds the next tenant's key.
	f.shortcut(&desktop.CustomShortcut{KeyName: fyne.KeyO, Modifier: mod})
	if opened != 2 {
		t.Error("Ctrl+O did not open the file dialog beside a stored key")
	}
	f.shortcut(&desktop.CustomShortcut{KeyName: fyne.KeyD, Modifier: mod})
	f.idle() // Display reads the keychain again first
	if f.w.dialogs.display == nil || !f.overlayShown() {
		t.Fatal("Ctrl+D did not display the key")
	}
	// With the dialog open, Ctrl+Delete must not act behind it.
	f.shortcut(&desktop.CustomShortcut{KeyName: fyne.KeyDelete, Modifier: mod})
	if f.w.dialogs.delete != nil {
		t.Error("Ctrl+Delete acted behind the open dialog")
	}
	f.w.dialogs.display.dialog.Dismiss()
	f.shortcut(&desktop.CustomShortcut{KeyName: fyne.KeyDelete, Modifier: mod})
	f.idle()
	if f.w.dialogs.delete == nil {
		t.Fatal("Ctrl+Delete did not ask to delete")
	}
	f.w.dialogs.delete.dialog.Dismiss()

	f.shortcut(&desktop.CustomShortcut{KeyName: fyne.KeyS, Modifier: mod})
	f.pumpUntil("the download dialog", func() bool { return f.w.dialogs.download != nil })
	mustContain(t, "help", shortcutHelp(), "D display", "S download", "Delete delete", "T test", "Shift+T test all", "O add a key", "V paste")
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

// expiryText is what a section's facts say of a certificate that ends at
// notAfter, seen at now.
func expiryText(notAfter, now time.Time) (string, widget.Importance) {
	f := newFactsForm(vault.FactCertExpiry)
	f.set(vault.Summary{CertExpiry: notAfter}, now)
	l := f.label(vault.FactCertExpiry)
	return l.Text, l.Importance
}

// The window holds the keys of several tenants, and its title says so.
func TestWindowTitleSaysKeys(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	if got := f.win.Title(); got != "calmkey — SAP Cloud ALM Service Keys" {
		t.Errorf("title %q", got)
	}
}
