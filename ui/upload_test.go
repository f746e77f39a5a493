package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
	"github.com/calmkey/calmkey/vault/vaulttest"
)

// keyFile writes data to a file in a temp dir and returns its URI.
func keyFile(t *testing.T, name string, data []byte) fyne.URI {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return storage.NewFileURI(p)
}

// pickFile makes the file-open dialog choose u.
func (f *fixture) pickFile(u fyne.URI) {
	f.t.Helper()
	f.w.seam.openFile = func(cb func(fyne.URIReadCloser, error)) {
		r, err := storage.Reader(u)
		if err != nil {
			f.t.Fatal(err)
		}
		cb(r, nil)
	}
}

// waitCheck waits until the format check has shown its outcome.
// uploadFile loads the (empty) store, picks a file holding data in the
// injected open dialog, taps Upload and waits for the format check.
func (f *fixture) uploadFile(name string, data []byte) {
	f.t.Helper()
	f.load()
	f.pickFile(keyFile(f.t, name, data))
	test.Tap(f.w.bar.upload)
	f.waitCheck()
}

func (f *fixture) waitCheck() {
	f.t.Helper()
	f.pumpUntil("the format check's outcome", func() bool {
		return f.w.dialogs.upload != nil || f.w.dialogs.problems != nil || f.w.dialogs.notice != nil || f.w.dialogs.replace != nil
	})
}

func TestUploadFileShowsKeyAndAdviceThenStores(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.load()
	data := testkeys.SecretKey(testkeys.Fields{})
	f.pickFile(keyFile(t, "acme-key.txt", data))

	test.Tap(f.w.bar.upload)
	f.waitCheck()
	v := f.w.dialogs.upload
	if v == nil {
		t.Fatalf("no confirmation; notice %q", f.noticeText())
	}
	for got, want := range map[string]string{
		v.facts.label(vault.FactTenant).Text:         testkeys.Tenant,
		v.facts.label(vault.FactRegion).Text:         "eu10",
		v.facts.label(vault.FactClientID).Text:       testkeys.ClientID,
		v.facts.label(vault.FactCredentialType).Text: "binding-secret",
		v.facts.label(vault.FactAPIEndpoint).Text:    "https://eu10.alm.cloud.sap/api",
	} {
		if got != want {
			t.Errorf("confirmation shows %q, want %q", got, want)
		}
	}
	mustContain(t, "certificate expiry", v.facts.label(vault.FactCertExpiry).Text, "none")
	// Where the key will log on, before it is stored.
	mustContain(t, "token URL", v.facts.label(vault.FactTokenURL).Text, "https://", "/oauth/token")
	if v.facts.label(vault.FactUploaded) != nil {
		t.Error("the confirmation shows an upload time before the key is stored")
	}
	mustContain(t, "advice", v.advice.Text, "one service key", "regularly", "one-use", "Analytics API")
	if v.warnings.Visible() {
		t.Errorf("warnings shown for a clean key: %q", v.warnings.Text)
	}
	mustNotContain(t, "confirmation", texts(f.win.Canvas().Overlays().Top()), testkeys.Secret)
	if len(f.backend.Items(testService)) != 0 {
		t.Fatal("the key was stored before the user confirmed")
	}

	v.dialog.Confirm()
	f.idle()
	if f.w.state != stStored || f.sec().row.name.Text != testkeys.Tenant {
		t.Fatalf("after storing: state %v, name %q, notice %q", f.w.state, f.sec().row.name.Text, f.noticeText())
	}
	mustContain(t, "uploaded", f.sec().facts.label(vault.FactUploaded).Text, "acme-key.txt")
	st, err := f.stored()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(st.Key.Bytes(), data) || st.FileName != "acme-key.txt" {
		t.Errorf("the keychain holds other bytes or file name %q", st.FileName)
	}
	// The next tenant's key can be added.
	if f.w.bar.upload.Hidden || f.w.bar.upload.Disabled() {
		t.Error("Add a tenant's key is not offered after storing")
	}
}

func TestDefaultFileDialogsShow(t *testing.T) {
	// The defaults behind the test seams are Fyne's dialogs; check that they
	// come up on the window. Download uses Fyne's folder dialog, which has
	// no file name to type and so creates no file: it has no Entry.
	f := newFixture(t, fixtureOpts{})
	fresh := newWindow(f.app, f.win, Deps{Store: f.store}, f.w.do)
	fresh.seam.openFile(func(fyne.URIReadCloser, error) {})
	if !f.overlayShown() {
		t.Fatal("the default file-open dialog did not show")
	}
	f.win.Canvas().Overlays().Top().Hide()
	dir := t.TempDir()
	start, err := storage.ListerForURI(storage.NewFileURI(dir))
	if err != nil {
		t.Fatal(err)
	}
	fresh.seam.chooseFolder(start, func(fyne.ListableURI, error) {})
	top := f.win.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("the default folder dialog did not show")
	}
	for _, o := range test.LaidOutObjects(top) {
		if e, ok := o.(*widget.Entry); ok && e.Visible() {
			t.Errorf("the folder dialog has a file name entry (%q): it would be a file-save dialog", e.Text)
		}
	}
	mustContain(t, "folder dialog", texts(top), filepath.Base(dir))
	fresh.onClosed()
}

func TestUploadCancelledStoresNothing(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.uploadFile("k.json", testkeys.SecretKey(testkeys.Fields{}))
	f.w.dialogs.upload.dialog.Dismiss()
	f.drain(50 * time.Millisecond)
	if n := len(f.backend.Items(testService)); n != 0 || f.w.state != stEmpty {
		t.Errorf("after Cancel: %d items, state %v", n, f.w.state)
	}

	// A dialog closed without a file does nothing either.
	f.w.dialogs.upload = nil
	f.w.seam.openFile = func(cb func(fyne.URIReadCloser, error)) { cb(nil, nil) }
	test.Tap(f.w.bar.upload)
	f.drain(50 * time.Millisecond)
	if f.w.dialogs.upload != nil || f.w.dialogs.notice != nil || f.w.dialogs.problems != nil {
		t.Error("a cancelled file dialog led somewhere")
	}
}

func TestUploadInvalidKeyListsProblemsAndStoresNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want []string
	}{
		{"no-secret.txt", withoutSecret(t), []string{"uaa.clientsecret"}},
		{"not-json.txt", []byte("this is not JSON"), []string{"JSON"}},
		{"huge.txt", bytes.Repeat([]byte(" "), vault.MaxFileSize+10), []string{"64 KiB"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{})
			f.load()
			_, perr := vault.Parse(tc.data)
			if perr == nil {
				t.Fatal("the test input parses")
			}
			f.pickFile(keyFile(t, tc.name, tc.data))
			test.Tap(f.w.bar.upload)
			f.waitCheck()
			if f.w.dialogs.problems == nil {
				t.Fatalf("no problem list; upload view %v, notice %q", f.w.dialogs.upload != nil, f.noticeText())
			}
			list := f.w.dialogs.problems.list.Text
			var fe *vault.FormatError
			if errors.As(perr, &fe) {
				for _, p := range fe.Problems {
					mustContain(t, "problem list", list, p.String())
				}
			}
			mustContain(t, "problem list", list, tc.want...)
			mustContain(t, "problems dialog", texts(f.win.Canvas().Overlays().Top()), tc.name, "Nothing was stored", "SAP BTP cockpit")
			if len(f.backend.Items(testService)) != 0 || f.w.state != stEmpty {
				t.Error("an invalid key changed the keychain")
			}
		})
	}
}

// withoutSecret returns a secret key with uaa.clientsecret removed.
func withoutSecret(t *testing.T) []byte {
	t.Helper()
	var m map[string]map[string]any
	if err := json.Unmarshal(testkeys.SecretKey(testkeys.Fields{}), &m); err != nil {
		t.Fatal(err)
	}
	delete(m["uaa"], "clientsecret")
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUploadX509KeyShowsCertificateExpiry(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.load()
	// The dialog's clock stands still; the certificate ends five calendar
	// days later at the same wall-clock time.
	now := time.Now()
	f.w.seam.now = func() time.Time { return now }
	notAfter := now.AddDate(0, 0, 5)
	ca := testkeys.NewCA(t)
	chain, keyPEM := ca.Client(t, testkeys.ClientID, notAfter, testkeys.RSAPKCS1)
	f.pickFile(keyFile(t, "x509.json", testkeys.X509Key(testkeys.Fields{}, chain, keyPEM)))
	before := vault.CertExpiry(notAfter, time.Now()).When()
	test.Tap(f.w.bar.upload)
	f.waitCheck()
	after := vault.CertExpiry(notAfter, time.Now()).When()
	v := f.w.dialogs.upload
	if v == nil {
		t.Fatalf("no confirmation; problems %v, notice %q", f.w.dialogs.problems != nil, f.noticeText())
	}
	if v.facts.label(vault.FactCredentialType).Text != "x509" {
		t.Errorf("type = %q", v.facts.label(vault.FactCredentialType).Text)
	}
	// Five calendar days, worded as vault's format-check warning beside it
	// words them (which counts from when it parsed: the same, unless the
	// test ran across midnight).
	mustContain(t, "certificate expiry", v.facts.label(vault.FactCertExpiry).Text, notAfter.Format(vault.TimeLayout)+" (in 5 days)")
	if !strings.Contains(v.warnings.Text, "("+before+")") && !strings.Contains(v.warnings.Text, "("+after+")") {
		t.Errorf("warnings %q do not say %q", v.warnings.Text, before)
	}
	mustNotContain(t, "confirmation", texts(f.win.Canvas().Overlays().Top()), "PRIVATE KEY")
}

func TestUploadShowsWarnings(t *testing.T) {
	data := testkeys.SecretKey(testkeys.Fields{Type: "-"})
	k, err := vault.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Warnings) == 0 {
		// The test needs a warning to show; vault must give one here.
		t.Fatal("vault accepts a key without credential-type without a warning; give this test a key that warns")
	}
	f := newFixture(t, fixtureOpts{})
	f.uploadFile("k.txt", data)
	v := f.w.dialogs.upload
	if !v.warnings.Visible() {
		t.Fatal("warnings are hidden")
	}
	for _, w := range k.Warnings {
		mustContain(t, "warnings", v.warnings.Text, w.String())
	}
	mustContain(t, "type", v.facts.label(vault.FactCredentialType).Text, "inferred")
}

func TestUploadFileThatCannotBeOpenedOrRead(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.load()
	f.w.seam.openFile = func(cb func(fyne.URIReadCloser, error)) { cb(nil, errors.New("permission denied")) }
	test.Tap(f.w.bar.upload)
	mustContain(t, "notice", f.noticeText(), "could not be opened", "permission denied", "SAP BTP cockpit")

	// A dropped directory opens but cannot be read.
	f.w.dialogs.notice = nil
	f.w.onDropped(fyne.Position{}, []fyne.URI{storage.NewFileURI(t.TempDir())})
	f.waitCheck()
	mustContain(t, "notice", f.noticeText(), "could not be read", "Nothing was stored")
	if f.w.state != stEmpty || len(f.backend.Items(testService)) != 0 {
		t.Error("a failed read changed something")
	}
}

func TestDropFileOnWindow(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.load()
	u := keyFile(t, "dropped.txt", testkeys.SecretKey(testkeys.Fields{}))

	f.w.onDropped(fyne.Position{X: 10, Y: 10}, []fyne.URI{u, u})
	mustContain(t, "notice", f.noticeText(), "Drop only")
	if f.w.dialogs.upload != nil {
		t.Fatal("two dropped files were checked")
	}

	f.w.dialogs.notice = nil
	f.w.onDropped(fyne.Position{X: 10, Y: 10}, []fyne.URI{u})
	f.waitCheck()
	if f.w.dialogs.upload == nil {
		t.Fatalf("no confirmation for a dropped key; notice %q", f.noticeText())
	}
	f.w.dialogs.upload.dialog.Confirm()
	f.idle()
	if f.w.state != stStored {
		t.Fatalf("state = %v after confirming a dropped key", f.w.state)
	}
	mustContain(t, "uploaded", f.sec().facts.label(vault.FactUploaded).Text, "dropped.txt")

	// Once the tenant has a key, the same key dropped again is already
	// stored: one key per tenant, nothing stored beside it (another key of
	// the tenant is offered as its replacement: replace_test.go).
	f.w.dialogs.upload, f.w.dialogs.notice = nil, nil
	f.w.onDropped(fyne.Position{}, []fyne.URI{u})
	f.drain(50 * time.Millisecond)
	mustContain(t, "notice", f.noticeText(), "already stored for tenant "+testkeys.Tenant, "Nothing was changed")
	if f.w.dialogs.upload != nil {
		t.Error("a drop onto a stored key was checked")
	}
}

func TestPasteKeyFromClipboard(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.load()

	f.app.Clipboard().SetContent("  \n")
	f.shortcut(&fyne.ShortcutPaste{})
	mustContain(t, "notice", f.noticeText(), "clipboard is empty", "Copy JSON")

	data := testkeys.SecretKey(testkeys.Fields{})
	f.w.dialogs.notice.dialog.Dismiss()
	f.w.dialogs.notice = nil
	f.app.Clipboard().SetContent(string(data))
	f.shortcut(&fyne.ShortcutPaste{})
	f.waitCheck()
	v := f.w.dialogs.upload
	if v == nil {
		t.Fatalf("no confirmation for a pasted key; notice %q", f.noticeText())
	}
	if f.app.Clipboard().Content() == "" {
		t.Fatal("the clipboard was cleared before the key was stored")
	}
	f.w.clip.clearAfter = 10 * time.Millisecond
	v.dialog.Confirm()
	f.idle()
	st, err := f.stored()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(st.Key.Bytes(), data) || st.FileName != "" {
		t.Errorf("pasted key stored as %q with other bytes", st.FileName)
	}

	// The key's JSON holds the secret: once stored, it leaves the clipboard.
	f.pumpUntil("the clipboard to be cleared", func() bool { return f.app.Clipboard().Content() == "" })

	// With a key stored, Paste still offers to add another tenant's.
	if f.w.bar.paste.Hidden || f.w.bar.paste.Disabled() {
		t.Error("Paste is not offered with a key stored")
	}
}

func TestPasteInvalidText(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.load()
	f.app.Clipboard().SetContent(`{"uaa": {"clientid": "x"}}`)
	test.Tap(f.w.bar.paste)
	f.waitCheck()
	if f.w.dialogs.problems == nil {
		t.Fatalf("no problem list for pasted junk; notice %q", f.noticeText())
	}
	mustContain(t, "problems dialog", texts(f.win.Canvas().Overlays().Top()), "The pasted text is not a valid")
	if !strings.Contains(f.w.dialogs.problems.list.Text, "•") {
		t.Errorf("problems are not listed one by one: %q", f.w.dialogs.problems.list.Text)
	}
}

func TestStoreFailsLeavesNothing(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.uploadFile("k.txt", testkeys.SecretKey(testkeys.Fields{}))
	f.backend.FailOn(vaulttest.OpSet, vault.ErrUnavailable)
	f.w.dialogs.upload.dialog.Confirm()
	f.idle()
	mustContain(t, "notice", f.noticeText(), "was not stored", "cannot be reached")
	f.backend.Intercept(nil)
	if f.w.state != stEmpty || len(f.backend.Items(testService)) != 0 {
		t.Errorf("after a failed store: state %v, %d items", f.w.state, len(f.backend.Items(testService)))
	}
	if f.w.bar.upload.Disabled() {
		t.Error("Upload is not offered again after a failed store")
	}
}

func TestStoreWhenAnotherKeyArrivedMeanwhile(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.uploadFile("k.txt", testkeys.SecretKey(testkeys.Fields{}))
	// calmkeyctl stores another key of the same tenant while the dialog
	// is open.
	f.storeKey(testkeys.SecretKey(testkeys.Fields{ClientID: "sb-ctl!b1|sapcloudalm!b16907"}), "ctl.txt")
	f.w.dialogs.upload.dialog.Confirm()
	f.idle() // the save
	f.idle() // the reload it starts
	mustContain(t, "notice", f.noticeText(), "tenant "+testkeys.Tenant+" already has a service key: delete it first")
	f.pumpUntil("the reload", func() bool { return f.w.state == stStored })
	if f.sec().facts.label(vault.FactClientID).Text != "sb-ctl!b1|sapcloudalm!b16907" {
		t.Errorf("the window shows client %q, want the key that is stored", f.sec().facts.label(vault.FactClientID).Text)
	}
}

// A pasted key leaves the clipboard at every outcome of its upload, if the
// clipboard still holds it; something the user copied since stays.
func TestPastedKeyLeavesClipboardOnEveryOutcome(t *testing.T) {
	valid := string(testkeys.SecretKey(testkeys.Fields{}))
	for _, tc := range []struct {
		name string
		text string
		end  func(t *testing.T, f *fixture) // after the check: bring the outcome
		keep string                         // what the clipboard holds at the end ("" : emptied)
	}{
		{name: "stored", text: valid, end: func(t *testing.T, f *fixture) {
			f.w.dialogs.upload.dialog.Confirm()
			f.idle()
			if f.w.state != stStored {
				t.Fatalf("not stored: %q", f.noticeText())
			}
		}},
		{name: "invalid", text: `{"uaa": {"clientid": "x", "clientsecret": "s3cr3t-value"}}`, end: func(t *testing.T, f *fixture) {
			if f.w.dialogs.problems == nil {
				t.Fatal("no problem list")
			}
		}},
		{name: "cancelled", text: valid, end: func(t *testing.T, f *fixture) {
			f.w.dialogs.upload.dialog.Dismiss()
		}},
		{name: "failed", text: valid, end: func(t *testing.T, f *fixture) {
			f.backend.FailOn(vaulttest.OpSet, vault.ErrUnavailable)
			f.w.dialogs.upload.dialog.Confirm()
			f.idle()
			mustContain(t, "notice", f.noticeText(), "was not stored")
		}},
		{name: "already stored", text: valid, end: func(t *testing.T, f *fixture) {
			f.storeKey(testkeys.SecretKey(testkeys.Fields{ClientID: "sb-ctl!b1|sapcloudalm!b16907"}), "")
			f.w.dialogs.upload.dialog.Confirm()
			f.idle()
			mustContain(t, "notice", f.noticeText(), "already has a service key")
		}},
		{name: "window closed", text: valid, end: func(t *testing.T, f *fixture) {
			f.close()
		}},
		{name: "copied something else meanwhile", text: valid, end: func(t *testing.T, f *fixture) {
			f.app.Clipboard().SetContent("the user's own text")
			f.w.dialogs.upload.dialog.Dismiss()
		}, keep: "the user's own text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{})
			f.load()
			f.app.Clipboard().SetContent(tc.text)
			test.Tap(f.w.bar.paste)
			f.waitCheck()
			tc.end(t, f)
			f.drain(20 * time.Millisecond)
			if got := f.app.Clipboard().Content(); got != tc.keep {
				t.Errorf("the clipboard holds %d bytes (%q...), want %q", len(got), got[:min(len(got), 12)], tc.keep)
			}
		})
	}
}

// A save reads the keys back by the window's one read path: what another
// program changed meanwhile is said; the window's own key is not news.
func TestSaveSaysWhatAnotherProgramChanged(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.load()
	f.pickFile(keyFile(t, "mine.txt", testkeys.SecretKey(testkeys.Fields{})))
	test.Tap(f.w.bar.upload)
	f.waitCheck()
	v := f.w.dialogs.upload
	if v == nil {
		t.Fatalf("no confirmation; notice %q", f.noticeText())
	}
	// While the user looks at the key, calmkeyctl stores another tenant's.
	f.storeKey(testkeys.SecretKey(testkeys.Fields{Tenant: "other-tenant", ClientID: "sb-other!b1|sapcloudalm!b16907"}), "ctl.txt")
	v.dialog.Confirm()
	f.idle()
	if f.w.state != stStored || strings.Join(tenantsOf(f), ",") != testkeys.Tenant+",other-tenant" {
		t.Fatalf("after storing: state %v, sections %q, notice %q", f.w.state, tenantsOf(f), f.noticeText())
	}
	mustContain(t, "message", f.w.line.message.Text, "a key of tenant other-tenant was stored by another program")
	mustNotContain(t, "message", f.w.line.message.Text, "tenant "+testkeys.Tenant)
	if f.w.secs.open() != f.w.secs.byTenant(testkeys.Tenant) {
		t.Error("the stored tenant's section is not open")
	}
}
