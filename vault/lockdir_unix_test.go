//go:build !windows

package vault

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestLockDirRunUser(t *testing.T) {
	uid := os.Getuid()
	runUser, tmp := t.TempDir(), t.TempDir()
	own := filepath.Join(runUser, strconv.Itoa(uid))
	if err := os.Mkdir(own, 0o700); err != nil {
		t.Fatal(err)
	}
	got, err := lockDirIn("linux", runUser, tmp, uid)
	if err != nil || got != filepath.Join(own, "calmkey") {
		t.Errorf("with /run/user/<uid>: %q, %v; want %q", got, err, filepath.Join(own, "calmkey"))
	}
	// macOS has no /run/user.
	got, err = lockDirIn("darwin", runUser, tmp, uid)
	if want := filepath.Join(tmp, "calmkey-"+strconv.Itoa(uid)); err != nil || got != want {
		t.Errorf("darwin: %q, %v; want %q", got, err, want)
	}
}

func TestLockDirTmp(t *testing.T) {
	uid := os.Getuid()
	tmp := t.TempDir()
	want := filepath.Join(tmp, "calmkey-"+strconv.Itoa(uid))
	// No /run/user/<uid> (a cron job with no session, a container).
	got, err := lockDirIn("linux", filepath.Join(tmp, "no-run-user"), tmp, uid)
	if err != nil || got != want {
		t.Fatalf("without /run/user: %q, %v; want %q", got, err, want)
	}
	if fi, err := os.Lstat(want); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("the folder made: %v, %v; want a folder of mode 0700", fi, err)
	}
	// Made already: used as it is.
	if got, err := lockDirIn("linux", filepath.Join(tmp, "no-run-user"), tmp, uid); err != nil || got != want {
		t.Errorf("again: %q, %v", got, err)
	}
	// /run/user/<uid> that belongs to another user is not used.
	runUser := t.TempDir()
	if err := os.Mkdir(filepath.Join(runUser, strconv.Itoa(uid+1)), 0o700); err != nil {
		t.Fatal(err)
	}
	if got, err := lockDirIn("linux", runUser, tmp, uid+1); err == nil || !strings.Contains(err.Error(), "another user") {
		t.Errorf("folders of another uid: %q, %v; want an error naming another user", got, err)
	}
}

func TestLockDirTmpRefused(t *testing.T) {
	uid := os.Getuid()
	none := filepath.Join(t.TempDir(), "none")
	cases := map[string]func(dir string) error{
		"symbolic link": func(dir string) error { return os.Symlink(t.TempDir(), dir) },
		"not a folder":  func(dir string) error { return os.WriteFile(dir, nil, 0o600) },
		"others may write": func(dir string) error {
			if err := os.Mkdir(dir, 0o700); err != nil {
				return err
			}
			return os.Chmod(dir, 0o777)
		},
	}
	for what, make := range cases {
		tmp := t.TempDir()
		if err := make(filepath.Join(tmp, "calmkey-"+strconv.Itoa(uid))); err != nil {
			t.Fatal(err)
		}
		got, err := lockDirIn("linux", none, tmp, uid)
		if err == nil || !strings.Contains(err.Error(), what) || !strings.Contains(err.Error(), "remove it") {
			t.Errorf("%s: %q, %v; want an error saying so", what, got, err)
		}
	}
}
