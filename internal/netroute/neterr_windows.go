package netroute

import (
	"errors"
	"syscall"
)

// isRefused: WSAECONNREFUSED, which Windows returns whatever its display
// language (syscall.ECONNREFUSED is Go's own number there).
func isRefused(err error) bool { return errors.Is(err, syscall.Errno(10061)) }
