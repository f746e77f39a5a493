package ui

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/calmkey/calmkey/internal/testkeys"
)

// fakePicker stands in for the desktop's dialog behind the seam: it answers
// every request with path and err (path "": cancelled) and hands the
// request to the test.
type fakePicker struct {
	path  string
	err   error
	asks  chan pickRequest
	warns bool // its save dialog asks before it answers with a file that exists
}

func (p *fakePicker) asksBeforeReplacing() bool { return p.warns }

func (p *fakePicker) pickOpen(r pickRequest) (string, error) { return p.answer(r) }
func (p *fakePicker) pickSave(r pickRequest) (string, error) { return p.answer(r) }

func (p *fakePicker) answer(r pickRequest) (string, error) {
	p.asks <- r
	return p.path, p.err
}

// useNative puts a desktop dialog that answers path, err behind the
// window's file dialogs.
func (f *fixture) useNative(path string, err error) *fakePicker {
	p := &fakePicker{path: path, err: err, asks: make(chan pickRequest, 4)}
	f.w.seam.native = &nativeDialogs{picker: p, win: f.win}
	return p
}

// asked waits for the request the desktop's dialog was given.
func (f *fixture) asked(p *fakePicker) pickRequest {
	f.t.Helper()
	select {
	case r := <-p.asks:
		return r
	case <-time.After(15 * time.Second):
		f.t.Fatal("the desktop's dialog was not asked")
		return pickRequest{}
	}
}

// pickDone waits until the window has the dialog's answer.
func (f *fixture) pickDone() {
	f.t.Helper()
	f.pumpUntil("the dialog's answer", func() bool { return !f.w.seam.native.picking })
}

func TestNativeOpenStoresTheChosenFile(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.load()
	data := testkeys.SecretKey(testkeys.Fields{})
	u := keyFile(t, "acme-key.json", data)
	path := filepath.FromSlash(u.Path())
	last := t.TempDir()
	f.app.Preferences().SetString(prefUploadFolder, last)
	p := f.useNative(path, nil)

	test.Tap(f.w.bar.upload)
	r := f.asked(p)
	if r.folder != last || r.title != "Add a tenant's service key" || r.keyFiles == "" || r.allFiles == "" {
		t.Errorf("the dialog was asked %+v; want it to start in %s, with a title and both filters named", r, last)
	}
	// While it is open, Ctrl+O starts no second one.
	test.Tap(f.w.bar.upload)
	f.waitCheck()
	select {
	case r := <-p.asks:
		t.Errorf("a second dialog was opened while the first was: %+v", r)
	default:
	}
	v := f.w.dialogs.upload
	if v == nil {
		t.Fatalf("no confirmation; notice %q", f.noticeText())
	}
	v.dialog.Confirm()
	f.idle()
	st, err := f.stored()
	if err != nil {
		t.Fatal(err)
	}
	if st.FileName != "acme-key.json" || f.sec().row.name.Text != testkeys.Tenant {
		t.Errorf("stored as from %q; section %q", st.FileName, f.sec().row.name.Text)
	}
	if got := f.app.Preferences().String(prefUploadFolder); got != filepath.Dir(path) {
		t.Errorf("remembered folder %q, want %q", got, filepath.Dir(path))
	}
}

func TestNativeOpenStartsInDownloadsFirst(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.load()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home)
	downloads := filepath.Join(home, "Downloads")
	if err := os.Mkdir(downloads, 0o700); err != nil {
		t.Fatal(err)
	}
	p := f.useNative("", nil)
	test.Tap(f.w.bar.upload)
	if r := f.asked(p); r.folder != downloads {
		t.Errorf("with no folder used yet, the dialog starts in %q, want %q", r.folder, downloads)
	}
	f.pickDone()
}

func TestNativeOpenCancelChangesNothing(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.load()
	last := t.TempDir()
	f.app.Preferences().SetString(prefUploadFolder, last)
	p := f.useNative("", nil)
	test.Tap(f.w.bar.upload)
	f.asked(p)
	f.pickDone()
	f.drain(50 * time.Millisecond)
	if f.overlayShown() || f.w.dialogs.notice != nil || f.w.dialogs.upload != nil {
		t.Errorf("a cancelled dialog led somewhere; notice %q", f.noticeText())
	}
	if n := len(f.backend.Items(testService)); n != 0 || f.w.state != stEmpty {
		t.Errorf("after Cancel: %d items, state %v", n, f.w.state)
	}
	if got := f.app.Preferences().String(prefUploadFolder); got != last {
		t.Errorf("Cancel changed the folder kept to %q", got)
	}
}

func TestNativeOpenFallsBackToFynesDialog(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.load()
	data := testkeys.SecretKey(testkeys.Fields{})
	f.pickFile(keyFile(t, "acme-key.txt", data))
	p := f.useNative("", errors.New("no dialog here"))
	test.Tap(f.w.bar.upload)
	f.asked(p)
	f.waitCheck()
	if f.w.dialogs.upload == nil {
		t.Fatalf("Fyne's dialog did not stand in; notice %q", f.noticeText())
	}
}

func TestNativeSaveWritesOwnerOnly(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	k := f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.load()
	last, chosen := t.TempDir(), t.TempDir()
	f.app.Preferences().SetString(prefDownloadFolder, last)
	path := filepath.Join(chosen, "picked.txt")
	p := f.useNative(path, nil)

	test.Tap(f.sec().row.downloadButton)
	r := f.asked(p)
	if r.folder != last || r.name != testkeys.Tenant+"-service-key.txt" || r.title == "" {
		t.Errorf("the save dialog was asked %+v; want %s in %s", r, testkeys.Tenant+"-service-key.txt", last)
	}
	f.waitSavedTo(path, k)
	if f.w.dialogs.download != nil {
		t.Error("calmkey's own download dialog showed as well")
	}
	if got := f.app.Preferences().String(prefDownloadFolder); got != chosen {
		t.Errorf("remembered folder %q, want %q", got, chosen)
	}
}

func TestNativeSaveAsksBeforeReplacing(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.load()
	path := filepath.Join(t.TempDir(), "there.txt")
	if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := f.useNative(path, nil)
	test.Tap(f.sec().row.downloadButton)
	f.asked(p)
	f.pumpUntil("the question whether to replace", func() bool { return f.overlayShownWithText("Replace") })
	keep := findButton(f.win.Canvas().Overlays().Top(), "Keep")
	if keep == nil {
		t.Fatal("the question has no Keep")
	}
	test.Tap(keep)
	f.drain(50 * time.Millisecond)
	if got, _ := os.ReadFile(path); string(got) != "keep me" {
		t.Errorf("Keep changed the file to %q", got)
	}
}

// Windows' save dialog asked already: the file is replaced by the key with
// no second question.
func TestNativeSaveAfterTheDialogAskedReplacesTheFile(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	k := f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.load()
	path := filepath.Join(t.TempDir(), "there.txt")
	if err := os.WriteFile(path, []byte("replace me"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := f.useNative(path, nil)
	p.warns = true
	test.Tap(f.sec().row.downloadButton)
	f.asked(p)
	f.waitSavedTo(path, k)
}

// The desktop's dialog asked about replacing a file, but a link at that
// path is calmkey's own question: it replaces the link, not the file it
// points to, and says so.
func TestNativeSaveAfterTheDialogAskedStillAsksAboutALink(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.load()
	dir := t.TempDir()
	target := filepath.Join(dir, "target.txt")
	if err := os.WriteFile(target, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.txt")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	p := f.useNative(link, nil)
	p.warns = true
	test.Tap(f.sec().row.downloadButton)
	f.asked(p)
	f.pumpUntil("the question whether to replace the link", func() bool { return f.overlayShownWithText("is a link to") })
	test.Tap(findButton(f.win.Canvas().Overlays().Top(), "Keep"))
	f.drain(50 * time.Millisecond)
	if got, _ := os.ReadFile(target); string(got) != "keep me" {
		t.Errorf("Keep changed the link's target to %q", got)
	}
}

func TestNativeSaveCancelChangesNothing(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.load()
	last := t.TempDir()
	f.app.Preferences().SetString(prefDownloadFolder, last)
	p := f.useNative("", nil)
	test.Tap(f.sec().row.downloadButton)
	f.asked(p)
	f.pickDone()
	f.drain(50 * time.Millisecond)
	if f.overlayShown() || f.w.dialogs.notice != nil || f.w.dialogs.download != nil {
		t.Errorf("a cancelled save dialog led somewhere; notice %q", f.noticeText())
	}
	if entries, _ := os.ReadDir(last); len(entries) != 0 {
		t.Errorf("Cancel wrote %v", entries)
	}
	if got := f.app.Preferences().String(prefDownloadFolder); got != last {
		t.Errorf("Cancel changed the folder kept to %q", got)
	}
}

func TestNativeSaveFallsBackToOwnDialog(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.load()
	last := t.TempDir()
	f.app.Preferences().SetString(prefDownloadFolder, last)
	p := f.useNative("", errors.New("no dialog here"))
	test.Tap(f.sec().row.downloadButton)
	f.asked(p)
	f.pumpUntil("calmkey's own download dialog", func() bool { return f.w.dialogs.download != nil })
	if v := f.w.dialogs.download; v.folder != last {
		t.Errorf("the stand-in dialog proposes %q, want %q", v.folder, last)
	}
}

func TestPickedFileOpensAtFirstRead(t *testing.T) {
	p := &pickedFile{path: filepath.Join(t.TempDir(), "gone.txt")}
	if got := p.URI().Name(); got != "gone.txt" {
		t.Errorf("name %q", got)
	}
	if _, err := p.Read(make([]byte, 1)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("reading a missing file: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("closing an unopened file: %v", err)
	}
	var _ fyne.URIReadCloser = p
}
