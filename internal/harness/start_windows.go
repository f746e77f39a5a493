package harness

import (
	"errors"

	"golang.org/x/sys/windows"
)

// notStarted: CreateProcess failed inside Wine before the program existed.
func notStarted(err error) bool { return errors.Is(err, windows.ERROR_INTERNAL_ERROR) }
