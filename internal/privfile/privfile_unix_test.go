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

// A symlink to a file is neither followed nor emptied: WriteNew refuses it,
// and Replace swaps the link itself for the new file.
func TestWriteNewAndReplaceLeaveSymlinkTarget(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "precious.txt")
	link := filepath.Join(dir, "link.txt")
	precious := []byte("someone else's file")
	if err := os.WriteFile(target, precious, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := WriteNew(link, []byte("key")); !errors.Is(err, fs.ErrExist) {
		t.Errorf("WriteNew onto a symlink: %v", err)
	}
	if got, _ := os.ReadFile(target); string(got) != string(precious) {
		t.Fatalf("WriteNew changed the link's target: %q", got)
	}
	if err := Replace(link, []byte("key")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(target); string(got) != string(precious) {
		t.Errorf("Replace changed the link's target: %q", got)
	}
	fi, err := os.Lstat(link)
	if err != nil || fi.Mode()&os.ModeSymlink != 0 {
		t.Fatalf("the link was not replaced by a file: %v %v", fi, err)
	}
	if got, _ := os.ReadFile(link); string(got) != "key" {
		t.Errorf("the new file holds %q", got)
	}
}
