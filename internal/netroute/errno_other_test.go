//go:build !windows

package netroute

import "syscall"

var errRefused = syscall.ECONNREFUSED
