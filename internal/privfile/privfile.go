// Package privfile creates files that only their owner can read, for the
// downloaded service key: mode 0600 on Unix; on Windows, where mode bits mean
// nothing and the folder's inherited permissions may let others read, a
// protected access list that grants the current user alone, set as the file
// is created so that no one can open it before.
//
// WriteNew and Replace are how the app and calmkeyctl write the key file:
// WriteNew never touches an existing name (a symlink included), and Replace,
// for when the user has said to replace it, swaps a whole new file in by
// rename, so that a symlink there is replaced, never followed, and the name
// never holds half a key.
package privfile

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Create creates name for writing, readable by its owner only. It fails
// with an error matching fs.ErrExist when name exists, a symlink included
// (which is not followed).
func Create(name string) (*os.File, error) {
	f, err := create(name)
	var pe *fs.PathError
	if err != nil && !errors.As(err, &pe) {
		err = &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return f, err
}

// CreateTemp is os.CreateTemp with Create's protection: a new file in dir
// (os.TempDir when ""), named by pattern with its last "*" replaced by a
// random string.
func CreateTemp(dir, pattern string) (*os.File, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	if strings.ContainsAny(pattern, `/\`) {
		return nil, &fs.PathError{Op: "createtemp", Path: pattern, Err: errors.New("pattern contains a path separator")}
	}
	prefix, suffix := pattern, ""
	if i := strings.LastIndex(pattern, "*"); i >= 0 {
		prefix, suffix = pattern[:i], pattern[i+1:]
	}
	for try := 0; ; try++ {
		name := filepath.Join(dir, prefix+strconv.FormatUint(uint64(rand.Uint32()), 10)+suffix)
		f, err := Create(name)
		if errors.Is(err, fs.ErrExist) && try < 10000 {
			continue
		}
		return f, err
	}
}

// Check returns nil when only the owner can read path: mode 0600 or
// narrower on Unix; on Windows no access list entry for anyone but the
// owner and the system itself.
func Check(path string) error { return check(path) }

// WriteNew writes data to a new file name that only its owner can read. It
// fails with an error matching fs.ErrExist when name exists, a symlink
// included (which is not followed), and changes nothing then. A write that
// fails removes the file: no half-written key is left.
func WriteNew(name string, data []byte) error {
	f, err := Create(name)
	if err != nil {
		return err
	}
	return finish(f, data)
}

// Replace writes data to a new owner-only file beside name and renames it
// over name, so that name holds the old content or the whole new one at
// every moment, and gets its owner-only protection even when the file it
// replaces had another. Whatever is at name (a file, a symlink) is replaced
// itself: a symlink is not followed, and the file it points to is left as
// it was. A folder at name is refused.
func Replace(name string, data []byte) error {
	if fi, err := os.Lstat(name); err == nil && fi.IsDir() {
		return &fs.PathError{Op: "replace", Path: name, Err: errIsFolder}
	}
	f, err := CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if err := finish(f, data); err != nil {
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replacing %s: %w", filepath.Base(name), err)
	}
	return nil
}

var errIsFolder = errors.New("it is a folder")

// finish writes data to f, syncs and closes it, and removes it when any of
// that fails.
func finish(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		// The umask may have taken bits away; set exactly 0600 (on
		// Windows, the access list from Create is what protects it).
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
