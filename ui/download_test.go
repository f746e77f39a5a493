package ui

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"

	"github.com/calmkey/calmkey/internal/privfile"
	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
)

func (f *fixture) waitNotice() {
	f.t.Helper()
	f.pumpUntil("a notice", func() bool { return f.w.dialogs.notice != nil })
}

// waitSavedTo waits for the notice that the key was saved to path, and
// checks that path holds exactly k, readable by its owner only.
func (f *fixture) waitSavedTo(path string, k *vault.Key) {
	f.t.Helper()
	f.waitNotice()
	mustContain(f.t, "notice", f.noticeText(), "saved to "+path)
	keyOnly(f.t, path, k)
}

// openDownload taps Download with dir as the folder last saved to, and
// waits for the download dialog.
func (f *fixture) openDownload(dir string) *downloadDialog {
	f.t.Helper()
	f.app.Preferences().SetString(prefDownloadFolder, dir)
	f.w.dialogs.download = nil
	test.Tap(f.sec().row.downloadButton)
	f.pumpUntil("the download dialog", func() bool { return f.w.dialogs.download != nil })
	return f.w.dialogs.download
}

// saveAs types name in the download dialog and taps Save.
func (f *fixture) saveAs(v *downloadDialog, name string) {
	f.t.Helper()
	v.name.SetText(name)
	test.Tap(v.save)
}

// waitReplaceQuestion waits for the "replace it?" question.
func (f *fixture) waitReplaceQuestion(v *downloadDialog) {
	f.t.Helper()
	f.pumpUntil("the question whether to replace", func() bool { return v.replace != nil })
}

// keyOnly checks that path holds exactly the key, readable by its owner
// only, with no temporary file left beside it.
func keyOnly(t *testing.T, path string, k *vault.Key) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, k.Bytes()) {
		t.Error("the file differs from the key's bytes")
	}
	if err := privfile.Check(path); err != nil {
		t.Error(err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestDownloadWritesKeyBytesOwnerOnly(t *testing.T) {
	// A Windows-saved file: BOM and CRLF. Download must give back exactly
	// what was uploaded.
	data := append([]byte("\xef\xbb\xbf"), bytes.ReplaceAll(testkeys.SecretKey(testkeys.Fields{}), []byte("\n"), []byte("\r\n"))...)
	f := newFixture(t, fixtureOpts{})
	k := f.storeKey(data, "")
	f.load()
	dir := t.TempDir()
	v := f.openDownload(dir)
	if v.name.Text != testkeys.Tenant+"-service-key.txt" {
		t.Errorf("proposed file name %q", v.name.Text)
	}
	if v.folder != dir || v.where.Text != dir {
		t.Errorf("proposed folder %q (shown %q), want the one last saved to, %q", v.folder, v.where.Text, dir)
	}
	mustContain(t, "download dialog", texts(f.win.Canvas().Overlays().Top()), "readable by your user only", "does not replace an existing file")

	test.Tap(v.save)
	f.waitNotice()
	path := filepath.Join(dir, testkeys.Tenant+"-service-key.txt")
	mustContain(t, "notice", f.noticeText(), "saved to "+path)
	keyOnly(t, path, k)
	if got, _ := os.ReadFile(path); !bytes.Equal(got, data) {
		t.Error("the file differs from what was uploaded")
	}
	if runtime.GOOS != "windows" {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("file mode %v (%v), want 0600", fi.Mode().Perm(), err)
		}
	}
	if got := f.app.Preferences().String(prefDownloadFolder); got != dir {
		t.Errorf("remembered folder %q, want %q", got, dir)
	}
}

func TestDownloadChoosesFolderWithoutOpeningAFile(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	k := f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.load()
	first, other := t.TempDir(), t.TempDir()
	v := f.openDownload(first)

	// The folder dialog gives a folder; the dialog only shows it.
	var start fyne.ListableURI
	f.w.seam.chooseFolder = func(s fyne.ListableURI, cb func(fyne.ListableURI, error)) {
		start = s
		l, err := storage.ListerForURI(storage.NewFileURI(other))
		if err != nil {
			t.Fatal(err)
		}
		cb(l, nil)
	}
	test.Tap(v.change)
	if start == nil || filepath.FromSlash(start.Path()) != first {
		t.Errorf("the folder dialog started at %v, want %s", start, first)
	}
	if v.folder != other || v.where.Text != other {
		t.Fatalf("folder %q shown %q after choosing %q", v.folder, v.where.Text, other)
	}
	entries, _ := os.ReadDir(other)
	if len(entries) != 0 {
		t.Fatalf("choosing a folder created %v", entries)
	}

	// A failing or cancelled folder dialog keeps the folder.
	f.w.seam.chooseFolder = func(_ fyne.ListableURI, cb func(fyne.ListableURI, error)) { cb(nil, errors.New("permission denied")) }
	test.Tap(v.change)
	mustContain(t, "problem", v.problem.Text, "could not be opened", "permission denied")
	f.w.seam.chooseFolder = func(_ fyne.ListableURI, cb func(fyne.ListableURI, error)) { cb(nil, nil) }
	test.Tap(v.change)
	if v.folder != other {
		t.Errorf("a cancelled folder dialog changed the folder to %q", v.folder)
	}

	f.saveAs(v, "chosen.txt")
	f.waitNotice()
	keyOnly(t, filepath.Join(other, "chosen.txt"), k)
	if entries, _ := os.ReadDir(first); len(entries) != 0 {
		t.Errorf("something was written to the first folder: %v", entries)
	}
}

func TestDownloadRefusesBadNames(t *testing.T) {
	f := withKey(t, fixtureOpts{})
	dir := t.TempDir()
	v := f.openDownload(dir)
	for name, want := range map[string]string{
		"":                "Enter a file name",
		"  ":              "Enter a file name",
		"..":              "not a file name",
		"sub/k.txt":       "without",
		`..\k.txt`:        "without",
		"k\u202etxt.json": "invisible",
	} {
		f.saveAs(v, name)
		if !v.open || !v.problem.Visible() {
			t.Errorf("%q: the dialog closed or says nothing", name)
		}
		mustContain(t, "problem for "+name, v.problem.Text, want)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("bad names wrote %v", entries)
	}
	// Cancel: nothing is written, nothing said.
	test.Tap(v.cancel)
	f.drain(50 * time.Millisecond)
	if v.open || f.w.dialogs.notice != nil {
		t.Errorf("after Cancel: open %v, notice %q", v.open, f.noticeText())
	}
}

func TestDownloadKeepsExistingFileUnlessConfirmed(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	k := f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.load()
	dir := t.TempDir()
	path := filepath.Join(dir, "k.txt")
	old := []byte("old content that someone needs")
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}

	v := f.openDownload(dir)
	f.saveAs(v, "k.txt")
	f.waitReplaceQuestion(v)
	mustContain(t, "question", texts(f.win.Canvas().Overlays().Top()), "k.txt already exists", "Replace it")
	v.replace.Dismiss() // Keep
	f.drain(50 * time.Millisecond)
	if got, _ := os.ReadFile(path); !bytes.Equal(got, old) {
		t.Fatal("the existing file changed although the user chose Keep")
	}

	v = f.openDownload(dir)
	f.saveAs(v, "k.txt")
	f.waitReplaceQuestion(v)
	v.replace.Confirm()
	f.waitSavedTo(path, k)
}

func TestDownloadFailures(t *testing.T) {
	f := withKey(t, fixtureOpts{})

	// A folder at the name.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "k.txt"), 0o700); err != nil {
		t.Fatal(err)
	}
	v := f.openDownload(dir)
	f.saveAs(v, "k.txt")
	f.waitNotice()
	mustContain(t, "notice", f.noticeText(), "not saved", "is a folder")

	// The folder vanished after it was chosen.
	gone := filepath.Join(t.TempDir(), "gone")
	if err := os.Mkdir(gone, 0o700); err != nil {
		t.Fatal(err)
	}
	v = f.openDownload(gone)
	if err := os.RemoveAll(gone); err != nil {
		t.Fatal(err)
	}
	f.w.dialogs.notice = nil
	f.saveAs(v, "k.txt")
	f.waitNotice()
	mustContain(t, "notice", f.noticeText(), "not saved", "download it again")
	if _, err := os.Lstat(filepath.Join(gone, "k.txt")); err == nil {
		t.Error("a file was left")
	}
}

func TestDownloadName(t *testing.T) {
	for tenant, want := range map[string]string{
		"acme-cloudalm": "acme-cloudalm-service-key.txt",
		"../etc/passwd": "_etc_passwd-service-key.txt",
		"":              "sap-cloud-alm-service-key.txt",
	} {
		if got := downloadName(&vault.Key{Tenant: tenant}); got != want {
			t.Errorf("downloadName(%q) = %q, want %q", tenant, got, want)
		}
	}
}
