//go:build !windows

package ui

// Not on Windows: only administrators or Developer Mode may make symlinks
// there, and Wine cannot.

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/testkeys"
)

// A symlink at the chosen name is neither followed nor emptied (Fyne's own
// save dialog would os.Create through it): the user is asked, Keep leaves
// both the link and its target as they were, and Replace swaps the link
// itself for the key file.
func TestDownloadNeverWritesThroughSymlink(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	k := f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.load()
	dir := t.TempDir()
	target := filepath.Join(dir, "precious.txt")
	precious := []byte("a file the link points to")
	if err := os.WriteFile(target, precious, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "k.txt")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	unchanged := func(what string) {
		t.Helper()
		if got, err := os.ReadFile(target); err != nil || string(got) != string(precious) {
			t.Fatalf("%s: the link's target now holds %q (%v)", what, got, err)
		}
	}

	v := f.openDownload(dir)
	f.saveAs(v, "k.txt")
	unchanged("while asking")
	f.waitReplaceQuestion(v)
	mustContain(t, "question", texts(f.win.Canvas().Overlays().Top()), "k.txt is a link to "+target, "left as it is")
	v.replace.Dismiss()
	f.drain(50 * time.Millisecond)
	unchanged("after Keep")
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link is gone after Keep: %v", err)
	}

	v = f.openDownload(dir)
	f.saveAs(v, "k.txt")
	f.waitReplaceQuestion(v)
	v.replace.Confirm()
	f.waitNotice()
	unchanged("after Replace")
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink != 0 {
		t.Fatalf("the link was not replaced by a file: %v", err)
	}
	keyOnly(t, link, k)

	// A dangling link is a name in use too.
	dangling := filepath.Join(dir, "dangling.txt")
	if err := os.Symlink(filepath.Join(dir, "nowhere.txt"), dangling); err != nil {
		t.Fatal(err)
	}
	v = f.openDownload(dir)
	f.saveAs(v, "dangling.txt")
	f.waitReplaceQuestion(v)
	v.replace.Dismiss()
	f.drain(50 * time.Millisecond)
	if _, err := os.Lstat(filepath.Join(dir, "nowhere.txt")); err == nil {
		t.Error("the download wrote through a dangling link")
	}
}
