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
	f.s.openFile = func(cb func(fyne.URIReadCloser, error)) {
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
	test.Tap(f.s.upload)
	f.waitCheck()
}

func (f *fixture) waitCheck() {
	f.t.Helper()
	f.pumpUntil("the format check's outcome", func() bool {
		return f.s.uploadView != nil || f.s.problems != nil || f.s.notice != nil
	})
}

func TestUploadFileShowsKeyAndAdviceThenStores(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.load()
	data := testkeys.SecretKey(testkeys.Fields{})
	f.pickFile(keyFile(t, "acme-key.txt", data))

	test.Tap(f.s.upload)
	f.waitCheck()
	v := f.s.uploadView
	if v == nil {
		t.Fatalf("no confirmation; notice %q", f.noticeText())
	}
	for got, want := range map[string]string{
		v.tenant.Text:   testkeys.Tenant,
		v.region.Text:   "eu10",
		v.clientID.Text: testkeys.ClientID,
		v.credType.Text: "binding-secret",
		v.api.Text:      "https://eu10.alm.cloud.sap/api",
	} {
		if got != want {
			t.Errorf("confirmation shows %q, want %q", got, want)
		}
	}
	mustContain(t, "certificate expiry", v.certExpiry.Text, "none")
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
	if f.s.state != stStored || f.s.name.Text != testkeys.Tenant {
		t.Fatalf("after storing: state %v, name %q, notice %q", f.s.state, f.s.name.Text, f.noticeText())
	}
	mustContain(t, "uploaded", f.s.uploaded.Text, "acme-key.txt")
	st, err := f.stored()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(st.Key.Bytes(), data) || st.FileName != "acme-key.txt" {
		t.Errorf("the keychain holds other bytes or file name %q", st.FileName)
	}
	if !f.s.upload.Hidden {
		t.Error("Upload is still offered after storing")
	}
}

func TestDefaultFileDialogsShow(t *testing.T) {
	// The defaults behind the test seams are Fyne's dialogs; check that they
	// come up on the window, and that Save proposes the name it is given.
	f := newFixture(t, fixtureOpts{})
	fresh := newKeyScreen(f.app, f.win, Deps{Store: f.store})
	fresh.openFile(func(fyne.URIReadCloser, error) {})
	if !f.overlayShown() {
		t.Fatal("the default file-open dialog did not show")
	}
	f.win.Canvas().Overlays().Top().Hide()
	fresh.saveFile("acme-cloudalm-service-key.txt", func(fyne.URIWriteCloser, error) {})
	top := f.win.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("the default file-save dialog did not show")
	}
	found := false
	for _, o := range test.LaidOutObjects(top) {
		if e, ok := o.(*widget.Entry); ok && e.Text == "acme-cloudalm-service-key.txt" {
			found = true
		}
	}
	if !found {
		t.Error("the save dialog does not propose the file name")
	}
}

func TestUploadCancelledStoresNothing(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.uploadFile("k.json", testkeys.SecretKey(testkeys.Fields{}))
	f.s.uploadView.dialog.Dismiss()
	f.drain(50 * time.Millisecond)
	if n := len(f.backend.Items(testService)); n != 0 || f.s.state != stEmpty {
		t.Errorf("after Cancel: %d items, state %v", n, f.s.state)
	}

	// A dialog closed without a file does nothing either.
	f.s.uploadView = nil
	f.s.openFile = func(cb func(fyne.URIReadCloser, error)) { cb(nil, nil) }
	test.Tap(f.s.upload)
	f.drain(50 * time.Millisecond)
	if f.s.uploadView != nil || f.s.notice != nil || f.s.problems != nil {
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
			test.Tap(f.s.upload)
			f.waitCheck()
			if f.s.problems == nil {
				t.Fatalf("no problem list; upload view %v, notice %q", f.s.uploadView != nil, f.noticeText())
			}
			list := f.s.problems.list.Text
			var fe *vault.FormatError
			if errors.As(perr, &fe) {
				for _, p := range fe.Problems {
					mustContain(t, "problem list", list, p.String())
				}
			}
			mustContain(t, "problem list", list, tc.want...)
			mustContain(t, "problems dialog", texts(f.win.Canvas().Overlays().Top()), tc.name, "Nothing was stored", "SAP BTP cockpit")
			if len(f.backend.Items(testService)) != 0 || f.s.state != stEmpty {
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
	ca := testkeys.NewCA(t)
	chain, keyPEM := ca.Client(t, testkeys.ClientID, time.Now().Add(5*24*time.Hour), testkeys.RSAPKCS1)
	f.pickFile(keyFile(t, "x509.json", testkeys.X509Key(testkeys.Fields{}, chain, keyPEM)))
	test.Tap(f.s.upload)
	f.waitCheck()
	v := f.s.uploadView
	if v == nil {
		t.Fatalf("no confirmation; problems %v, notice %q", f.s.problems != nil, f.noticeText())
	}
	if v.credType.Text != "x509" {
		t.Errorf("type = %q", v.credType.Text)
	}
	// Five days at the same hour are five calendar days, and the dialog
	// words them as vault's format-check warning beside it does.
	mustContain(t, "certificate expiry", v.certExpiry.Text, "(in 5 days)")
	mustContain(t, "warnings", v.warnings.Text, "(in 5 days)")
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
	v := f.s.uploadView
	if !v.warnings.Visible() {
		t.Fatal("warnings are hidden")
	}
	for _, w := range k.Warnings {
		mustContain(t, "warnings", v.warnings.Text, w.String())
	}
	mustContain(t, "type", v.credType.Text, "inferred")
}

func TestUploadFileThatCannotBeOpenedOrRead(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.load()
	f.s.openFile = func(cb func(fyne.URIReadCloser, error)) { cb(nil, errors.New("permission denied")) }
	test.Tap(f.s.upload)
	mustContain(t, "notice", f.noticeText(), "could not be opened", "permission denied", "SAP BTP cockpit")

	// A dropped directory opens but cannot be read.
	f.s.notice = nil
	f.s.onDropped(fyne.Position{}, []fyne.URI{storage.NewFileURI(t.TempDir())})
	f.waitCheck()
	mustContain(t, "notice", f.noticeText(), "could not be read", "Nothing was stored")
	if f.s.state != stEmpty || len(f.backend.Items(testService)) != 0 {
		t.Error("a failed read changed something")
	}
}

func TestDropFileOnWindow(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.load()
	u := keyFile(t, "dropped.txt", testkeys.SecretKey(testkeys.Fields{}))

	f.s.onDropped(fyne.Position{X: 10, Y: 10}, []fyne.URI{u, u})
	mustContain(t, "notice", f.noticeText(), "Drop only")
	if f.s.uploadView != nil {
		t.Fatal("two dropped files were checked")
	}

	f.s.notice = nil
	f.s.onDropped(fyne.Position{X: 10, Y: 10}, []fyne.URI{u})
	f.waitCheck()
	if f.s.uploadView == nil {
		t.Fatalf("no confirmation for a dropped key; notice %q", f.noticeText())
	}
	f.s.uploadView.dialog.Confirm()
	f.idle()
	if f.s.state != stStored {
		t.Fatalf("state = %v after confirming a dropped key", f.s.state)
	}
	mustContain(t, "uploaded", f.s.uploaded.Text, "dropped.txt")

	// Once a key is stored, a drop is refused: one key per tenant.
	f.s.uploadView, f.s.notice = nil, nil
	f.s.onDropped(fyne.Position{}, []fyne.URI{u})
	f.drain(50 * time.Millisecond)
	mustContain(t, "notice", f.noticeText(), "already stored", "delete it first")
	if f.s.uploadView != nil {
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
	f.s.notice.dialog.Dismiss()
	f.s.notice = nil
	f.app.Clipboard().SetContent(string(data))
	f.shortcut(&fyne.ShortcutPaste{})
	f.waitCheck()
	v := f.s.uploadView
	if v == nil {
		t.Fatalf("no confirmation for a pasted key; notice %q", f.noticeText())
	}
	if f.app.Clipboard().Content() == "" {
		t.Fatal("the clipboard was cleared before the key was stored")
	}
	f.s.clearAfter = 10 * time.Millisecond
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

	// With a key stored, Paste is not offered.
	if !f.s.paste.Hidden {
		t.Error("Paste is offered with a key stored")
	}
}

func TestPasteInvalidText(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.load()
	f.app.Clipboard().SetContent(`{"uaa": {"clientid": "x"}}`)
	test.Tap(f.s.paste)
	f.waitCheck()
	if f.s.problems == nil {
		t.Fatalf("no problem list for pasted junk; notice %q", f.noticeText())
	}
	mustContain(t, "problems dialog", texts(f.win.Canvas().Overlays().Top()), "The pasted text is not a valid")
	if !strings.Contains(f.s.problems.list.Text, "•") {
		t.Errorf("problems are not listed one by one: %q", f.s.problems.list.Text)
	}
}

func TestStoreFailsLeavesNothing(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.uploadFile("k.txt", testkeys.SecretKey(testkeys.Fields{}))
	f.backend.FailOn(vault.OpSet, vault.ErrUnavailable)
	f.s.uploadView.dialog.Confirm()
	f.idle()
	mustContain(t, "notice", f.noticeText(), "was not stored", "cannot be reached")
	f.backend.Intercept(nil)
	if f.s.state != stEmpty || len(f.backend.Items(testService)) != 0 {
		t.Errorf("after a failed store: state %v, %d items", f.s.state, len(f.backend.Items(testService)))
	}
	if f.s.upload.Disabled() {
		t.Error("Upload is not offered again after a failed store")
	}
}

func TestStoreWhenAnotherKeyArrivedMeanwhile(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.uploadFile("k.txt", testkeys.SecretKey(testkeys.Fields{}))
	// calmkeyctl stores another key of the tenant while the dialog is open.
	other := "sb-other!b1|sapcloudalm!b16907"
	f.storeKey(testkeys.SecretKey(testkeys.Fields{ClientID: other}), "ctl.txt")
	f.s.uploadView.dialog.Confirm()
	f.idle() // the save
	f.idle() // the reload it starts
	mustContain(t, "notice", f.noticeText(), "already stored")
	f.pumpUntil("the reload", func() bool { return f.s.state == stStored })
	if f.s.stored.Key.ClientID != other {
		t.Errorf("the window shows client %q, want the key that is stored", f.s.stored.Key.ClientID)
	}
}
