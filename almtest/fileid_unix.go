//go:build unix

package almtest

import (
	"fmt"
	"io/fs"
	"syscall"
)

// fileID names the file fi describes among those on the machine: a file
// replaced by a rename has another inode, even at the same size and time.
func fileID(fi fs.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("%v.%v", st.Dev, st.Ino)
	}
	return ""
}
