//go:build !windows

package netroute

import (
	"errors"
	"syscall"
)

// isRefused: nothing listens there, by the OS's code (never its text).
func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
