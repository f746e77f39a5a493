package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/calmkey/calmkey/internal/lockfile"
)

// The keychain lock: several processes share one keychain entry (the app,
// calmkeyctl, a cron job, a second window), and a key is several items, so
// every write, and every check-then-write (Save refuses when a key is
// stored), runs under an exclusive lock on a file, and Load under a shared
// one (Load reads several items, and a Delete half-way would otherwise look
// like damage). The lock is a plain file whose place follows the user and
// the keychain service only, never the environment (see lockDir):
//
//	Linux    /run/user/<uid>/calmkey/keychain-<service>.lock, or
//	         /tmp/calmkey-<uid>/keychain-<service>.lock without /run/user/<uid>
//	macOS    /tmp/calmkey-<uid>/keychain-<service>.lock
//	Windows  <local AppData>\calmkey\keychain-<service>.lock
//
// locked with flock(2) or LockFileEx through gofrs/flock (see
// internal/lockfile). The operating system drops the lock when its holder
// exits, even by a crash, so a lock is never stale. Should two processes
// still lock different files (a user logging on while a cron job runs, an
// older calmkey), the index write checks that the index is still the one it
// read, and merges its change into the newer one (see Store.updateIndex).

// lockRetry is how often a Store tries again for a lock someone else holds.
const lockRetry = 5 * time.Millisecond

// LockFile is the path of the lock file of a keychain service: dir (the
// folder lockDir gives when dir is "") joined with a file name made from the
// service name. Other code that must not interleave with a Store's writes
// (a single-instance check, a test) can lock the same file.
func LockFile(dir, service string) (string, error) {
	if dir == "" {
		var err error
		if dir, err = lockDir(); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, "keychain-"+ServiceFileName(service)+".lock"), nil
}

// ServiceFileName is a keychain service name ("" for DefaultService) made
// safe as part of a file name on every OS, as LockFile uses it; other files
// kept per service (almtest's History) use it too.
func ServiceFileName(service string) string {
	if service == "" {
		service = DefaultService
	}
	return fileNamePart(service)
}

// fileNamePart makes a service name safe as part of a file name on every OS:
// letters, digits, '-', '_' and '.' stay, every other byte becomes %XX ('%'
// itself too, so different names never meet), and a long name is cut and
// ends in a hash of the whole name. The "keychain-" prefix LockFile adds
// keeps Windows' reserved names (CON, NUL...) away.
func fileNamePart(s string) string {
	const hexDigits = "0123456789ABCDEF"
	const most = 100
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xF])
	}
	out := b.String()
	if len(out) > most {
		sum := sha256.Sum256([]byte(s))
		out = out[:most] + "~" + hex.EncodeToString(sum[:8])
	}
	return out
}

// lockMode says how an operation holds the keychain lock.
type lockMode int

const (
	lockNone   lockMode = iota // one item read: atomic on its own
	lockShared                 // reads several items
	lockWrite                  // writes, or checks and then writes
)

// lock takes the keychain lock in mode before ctx ends and returns what
// releases it. A lock still held by someone else when ctx ends is ErrBusy.
func (s *Store) lock(ctx context.Context, mode lockMode) (release func(), err error) {
	if mode == lockNone || s.noLock {
		return func() {}, nil
	}
	path, err := LockFile(s.lockDir, s.service)
	if err != nil {
		return nil, err
	}
	fl, err := lockfile.Open(path)
	if err != nil {
		return nil, err
	}
	try, tryCtx := fl.TryRLock, fl.TryRLockContext
	if mode == lockWrite {
		try, tryCtx = fl.TryLock, fl.TryLockContext
	}
	// One try whatever is left of ctx: ErrBusy only for a lock seen held.
	ok, err := try()
	if !ok && err == nil {
		ok, err = tryCtx(ctx, lockRetry)
	}
	switch {
	case ok:
		return func() { _ = fl.Unlock() }, nil
	case errors.Is(err, context.Canceled):
		return nil, err
	case errors.Is(err, context.DeadlineExceeded):
		return nil, &Error{kind: ErrBusy, msg: ErrBusy.Error()}
	default:
		return nil, fmt.Errorf("calmkey cannot lock %s: %w", path, unwrapPathErr(err))
	}
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
