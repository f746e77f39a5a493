package ui

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"

	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
)

// saveTo makes the file-save dialog choose path, as Fyne's dialog does:
// through storage.Writer, which creates the file.
func (f *fixture) saveTo(path string, proposed *string) {
	f.s.saveFile = func(name string, cb func(fyne.URIWriteCloser, error)) {
		*proposed = name
		w, err := storage.Writer(storage.NewFileURI(path))
		if err != nil {
			f.t.Fatal(err)
		}
		cb(w, nil)
	}
}

func (f *fixture) waitNotice() {
	f.t.Helper()
	f.pumpUntil("a notice", func() bool { return f.s.notice != nil })
}

func TestDownloadWritesKeyBytesWithMode0600(t *testing.T) {
	// A Windows-saved file: BOM and CRLF. Download must give back exactly
	// what was uploaded.
	data := append([]byte("\xef\xbb\xbf"), bytes.ReplaceAll(testkeys.SecretKey(testkeys.Fields{}), []byte("\n"), []byte("\r\n"))...)
	for _, existing := range []bool{false, true} {
		name := "new file"
		if existing {
			name = "over an existing file"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{})
			k := f.storeKey(data, "")
			f.load()
			path := filepath.Join(t.TempDir(), "out.txt")
			if existing {
				if err := os.WriteFile(path, []byte("old content that is longer than nothing"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var proposed string
			f.saveTo(path, &proposed)

			test.Tap(f.s.download)
			f.waitNotice()
			if proposed != testkeys.Tenant+"-service-key.txt" {
				t.Errorf("proposed file name %q", proposed)
			}
			mustContain(t, "notice", f.noticeText(), "saved to "+path)
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, k.Bytes()) {
				t.Error("the file differs from the key's bytes")
			}
			if !bytes.Equal(got, data) {
				t.Error("the file differs from what was uploaded")
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
			}
			leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*"))
			if len(leftovers) != 0 {
				t.Errorf("temporary files left: %v", leftovers)
			}
		})
	}
}

func TestDownloadFailures(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.load()

	// The dialog reports an error.
	f.s.saveFile = func(_ string, cb func(fyne.URIWriteCloser, error)) { cb(nil, errors.New("read-only file system")) }
	test.Tap(f.s.download)
	mustContain(t, "notice", f.noticeText(), "not saved", "read-only file system", "another folder")

	// The user cancels: nothing happens.
	f.s.notice = nil
	f.s.saveFile = func(_ string, cb func(fyne.URIWriteCloser, error)) { cb(nil, nil) }
	test.Tap(f.s.download)
	f.drain(50 * time.Millisecond)
	if f.s.notice != nil {
		t.Errorf("a cancelled save said %q", f.noticeText())
	}

	// Writing fails: the folder vanished after the dialog closed.
	dir := filepath.Join(t.TempDir(), "gone")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "k.txt")
	var proposed string
	f.saveTo(path, &proposed)
	saveTo := f.s.saveFile
	f.s.saveFile = func(name string, cb func(fyne.URIWriteCloser, error)) {
		saveTo(name, func(w fyne.URIWriteCloser, err error) {
			os.RemoveAll(dir)
			cb(w, err)
		})
	}
	test.Tap(f.s.download)
	f.waitNotice()
	mustContain(t, "notice", f.noticeText(), "not saved", "download it again")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a file was left at %s: %v", path, err)
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
