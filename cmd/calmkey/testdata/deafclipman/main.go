// Command deafclipman plays an X11 clipboard manager that has stopped
// answering (as one may while a session logs out): it owns the
// CLIPBOARD_MANAGER selection and never reads a request. It prints "ready"
// once it owns the selection, and runs until it is killed.
package main

/*
#cgo LDFLAGS: -lX11
#include <X11/Xlib.h>

static int own(void) {
	Display *d = XOpenDisplay(NULL);
	if (d == NULL) return 1;
	Window w = XCreateSimpleWindow(d, DefaultRootWindow(d), 0, 0, 1, 1, 0, 0, 0);
	Atom m = XInternAtom(d, "CLIPBOARD_MANAGER", False);
	XSetSelectionOwner(d, m, w, CurrentTime);
	XSync(d, False);
	return XGetSelectionOwner(d, m) == w ? 0 : 2;
}
*/
import "C"

import (
	"fmt"
	"os"
	"time"
)

func main() {
	if rc := C.own(); rc != 0 {
		fmt.Fprintf(os.Stderr, "deafclipman: cannot own CLIPBOARD_MANAGER (%d)\n", rc)
		os.Exit(1)
	}
	fmt.Println("ready")
	for {
		time.Sleep(time.Hour)
	}
}
