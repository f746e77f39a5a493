//go:build !linux

package windowtest

import "testing"

// FreezeDisplay needs the Linux test session's Xvfb; elsewhere it skips
// the test.
func FreezeDisplay(t testing.TB) (resume func()) {
	t.Helper()
	t.Skip("freezing the display needs the Linux test session (scripts/test-session)")
	return func() {}
}
