//go:build !unix

package almtest

import "io/fs"

// fileID is empty where FileInfo carries no file identity (Windows): the
// stamp then rests on the history's gen, size and time.
func fileID(fs.FileInfo) string { return "" }
