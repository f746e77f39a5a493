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
