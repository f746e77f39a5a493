//go:build !windows

package harness

// notStarted is Windows' (Wine's) case only; elsewhere a failed start is final.
func notStarted(error) bool { return false }
