//go:build !windows

package main

// Not in the Windows run: Wine 8.0's CreateSymbolicLinkW reports success and
// makes nothing, and real Windows lets only administrators, or Developer
// Mode, make symlinks. What calmkeyctl relies on, os.Lstat seeing the link
// itself, is the same on every system.

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/calmkey/calmkey/internal/testkeys"
)

// A dangling symlink is a file name in use too: never write through it.
func TestE2EDownloadOntoSymlink(t *testing.T) {
	c := newCLI(t)
	key := testkeys.SecretKey(testkeys.Fields{})
	c.addSecrets(key)
	expect(t, c.run(string(key), "upload", "-"), exitOK, "upload -")
	link := filepath.Join(c.dir, "link.txt")
	if err := os.Symlink(filepath.Join(c.dir, "elsewhere.txt"), link); err != nil {
		t.Fatal(err)
	}
	r := c.run("", "download", link)
	expect(t, r, exitNo, "download onto a dangling symlink")
	if _, err := os.Lstat(filepath.Join(c.dir, "elsewhere.txt")); err == nil {
		t.Error("download wrote through a symlink")
	}
	expect(t, c.run("", "download", link, "--force"), exitOK, "download --force onto a symlink")
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink != 0 {
		t.Errorf("--force did not replace the symlink with a file: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(c.dir, "elsewhere.txt")); err == nil {
		t.Error("download --force wrote through a symlink")
	}
	assertFile(t, link, key)
}
