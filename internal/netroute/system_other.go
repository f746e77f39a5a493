//go:build !windows

package netroute

// platformSystem: on Linux and macOS the environment is the convention; no
// other settings are read.
func platformSystem() System { return nil }
