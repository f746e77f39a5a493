//go:build !windows

package almtest

import "syscall"

// The errno values a refused, unreachable or reset connection ends in.
var (
	errsRefused     = []error{syscall.ECONNREFUSED}
	errsUnreachable = []error{syscall.ENETUNREACH, syscall.EHOSTUNREACH}
	errsReset       = []error{syscall.ECONNRESET}
)
