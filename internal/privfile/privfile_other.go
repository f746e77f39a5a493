//go:build !windows

package privfile

import (
	"fmt"
	"os"
)

func create(name string) (*os.File, error) {
	// O_EXCL also refuses a symlink, dangling or not.
	return os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
}

func check(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if p := st.Mode().Perm(); p&0o077 != 0 {
		return fmt.Errorf("%s has mode %v: others can read it", path, p)
	}
	return nil
}
