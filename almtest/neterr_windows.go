package almtest

import "syscall"

// Winsock's codes (winerror.h), which Windows returns whatever its display
// language; its messages are translated. syscall.ECONNREFUSED and the like
// are Go's own numbers on Windows, which no Windows call returns.
const (
	wsaeNetUnreach  syscall.Errno = 10051
	wsaeConnAborted syscall.Errno = 10053
	wsaeConnReset   syscall.Errno = 10054
	wsaeConnRefused syscall.Errno = 10061
	wsaeHostUnreach syscall.Errno = 10065
)

var (
	errsRefused     = []error{wsaeConnRefused}
	errsUnreachable = []error{wsaeNetUnreach, wsaeHostUnreach}
	// Windows reports a connection the peer dropped as aborted as often
	// as reset.
	errsReset = []error{wsaeConnReset, wsaeConnAborted}
)
