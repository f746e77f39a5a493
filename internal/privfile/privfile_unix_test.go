//go:build !windows

package privfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Not on Windows: Wine 8.0 cannot make symlinks (CreateSymbolicLinkW
// pretends), and Windows lets only administrators or Developer Mode.
func TestCreateRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere.txt")
	link := filepath.Join(dir, "link.txt")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(link); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create on a dangling symlink: %v", err)
	}
	if _, err := os.Lstat(target); err == nil {
		t.Error("Create wrote through a symlink")
	}
}

// WriteFile with replace swaps a symlink for a file, and never writes to
// where the link points.
func TestWriteFileReplacesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere.txt")
	if err := os.WriteFile(target, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.txt")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(link, []byte("key"), false); !errors.Is(err, fs.ErrExist) {
		t.Errorf("WriteFile without replace on a symlink: %v", err)
	}
	if err := WriteFile(link, []byte("key"), true); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(target); string(got) != "keep me" {
		t.Errorf("the link's target became %q", got)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink != 0 || st.Mode().Perm() != 0o600 {
		t.Errorf("link.txt after the replace: %v, %v", st.Mode(), err)
	}
}
