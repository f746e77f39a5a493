// Package privfile creates files that only their owner can read, for the
// downloaded service key (calmkeyctl download and the app's Download both
// write it with WriteFile) and calmkey's own state: mode 0600 on Unix; on
// Windows, where mode bits mean nothing and the folder's inherited
// permissions may let others read, a protected access list that grants the
// current user alone, set as the file is created so that no one can open it
// before.
package privfile

import (
	"errors"
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

// WriteFile writes data to name, readable by its owner only, whole or not
// at all: a write that fails removes what it wrote, so no half-written key
// is left. Without replace, name must not exist: an error matching
// fs.ErrExist otherwise, also for a symlink, which is not followed. With
// replace, data goes to a temporary file beside name that is then renamed
// over it, so name is whole at every moment and is the owner's alone
// whatever the file it replaces allowed; a symlink at name is replaced, not
// followed, and a folder is refused.
func WriteFile(name string, data []byte, replace bool) error {
	if !replace {
		f, err := Create(name)
		if err != nil {
			return err
		}
		return finish(f, name, data)
	}
	if st, err := os.Stat(name); err == nil && st.IsDir() {
		return &fs.PathError{Op: "write", Path: name, Err: errors.New("it is a folder")}
	}
	f, err := CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if err := finish(f, tmp, data); err != nil {
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// finish writes data to f, made with Create, and closes it; on failure the
// file, name, is removed.
func finish(f *os.File, name string, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		// The umask may have taken bits away; set exactly 0600.
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
	}
	return err
}

// Check returns nil when only the owner can read path: mode 0600 or
// narrower on Unix; on Windows no access list entry for anyone but the
// owner and the system itself.
func Check(path string) error { return check(path) }
