//go:build !windows

package instance

// allowForeground is for Windows only: elsewhere any app may raise its
// window when asked.
func allowForeground(int) {}
