//go:build !windows

package vault

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
)

// lockDir is the folder of the keychain lock, from the user and nothing
// else: no environment variable, since cron, systemd units, sudo -E and
// sandboxed shells give one user different ones (HOME, XDG_CACHE_HOME,
// XDG_RUNTIME_DIR, TMPDIR), and two lock files for one keychain let two
// writers through at once. On Linux it is /run/user/<uid>/calmkey when
// /run/user/<uid> is the user's own folder, as systemd-logind makes it;
// otherwise, and on macOS, /tmp/calmkey-<uid>.
func lockDir() (string, error) {
	return lockDirIn(runtime.GOOS, "/run/user", "/tmp", os.Getuid())
}

// lockDirIn is lockDir with its starting points given, for tests.
func lockDirIn(goos, runUser, tmp string, uid int) (string, error) {
	if goos != "darwin" {
		run := filepath.Join(runUser, strconv.Itoa(uid))
		if ownDir(run, uid) == nil {
			return filepath.Join(run, "calmkey"), nil
		}
	}
	dir := filepath.Join(tmp, "calmkey-"+strconv.Itoa(uid))
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("calmkey cannot make the folder of its lock file %s: %w", dir, unwrapPathErr(err))
	}
	if err := ownDir(dir, uid); err != nil {
		return "", fmt.Errorf("calmkey cannot use the folder of its lock file %s: %w; remove it and try again", dir, err)
	}
	return dir, nil
}

// ownDir checks that path is a folder, not a symbolic link, that belongs to
// uid and that no one else may write to: anyone can make a folder in /tmp,
// and a lock folder someone else owns could be swapped under calmkey.
func ownDir(path string, uid int) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return unwrapPathErr(err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return errors.New("it is a symbolic link")
	case !fi.IsDir():
		return errors.New("it is not a folder")
	case !ok || int(st.Uid) != uid:
		return errors.New("it belongs to another user")
	case fi.Mode().Perm()&0o022 != 0:
		return errors.New("others may write to it")
	}
	return nil
}
