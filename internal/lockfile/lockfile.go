// Package lockfile is the one way calmkey makes a lock file: the keychain
// lock (vault), the record of last tests (almtest's History) and the
// single-instance lock (internal/instance) all open theirs with Open, so
// that the folder and the file get the same owner-only permissions.
package lockfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gofrs/flock"
)

// Open makes path's folder (0700, the user's only) and the lock file itself
// (0600) when they are missing, and returns the gofrs/flock handle of the
// file, not yet locked. The operating system drops a flock when its holder
// exits, even by a crash, so a lock is never stale; the file stays and holds
// nothing. Errors say which folder or file could not be made.
func Open(path string) (*flock.Flock, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("calmkey cannot make the folder of its lock file %s: %w", dir, unwrapPathErr(err))
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("calmkey cannot make its lock file %s: %w", path, unwrapPathErr(err))
	}
	_ = f.Close()
	return flock.New(path, flock.SetPermissions(0o600)), nil
}

// unwrapPathErr drops the path an *os.PathError repeats: the message names
// it already.
func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
