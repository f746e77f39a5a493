// Package privfile creates files that only their owner can read, for the
// downloaded service key: mode 0600 on Unix; on Windows, where mode bits mean
// nothing and the folder's inherited permissions may let others read, a
// protected access list that grants the current user alone, set as the file
// is created so that no one can open it before.
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

// Check returns nil when only the owner can read path: mode 0600 or
// narrower on Unix; on Windows no access list entry for anyone but the
// owner and the system itself.
func Check(path string) error { return check(path) }
