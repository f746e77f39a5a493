//go:build !windows

package main

import (
	"fmt"
	"os"

	"fyne.io/fyne/v2"
)

// restore: on X11 and macOS, Show and RequestFocus already bring a
// minimised window back (X11 maps it again; macOS orders it front).
func restore(fyne.Window) {}

// tell writes a message for the user: started from a terminal or a desktop
// menu, stderr is where a program's message goes.
func tell(msg string) { fmt.Fprintln(os.Stderr, "calmkey:", msg) }
