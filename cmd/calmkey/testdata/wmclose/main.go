// Command wmclose closes an X11 window as a window manager's close button
// does: it sends the window a WM_DELETE_WINDOW message (xdotool's
// windowclose destroys the window instead, and the test display has no
// window manager). Usage: wmclose WINDOW-ID.
package main

/*
#cgo LDFLAGS: -lX11
#include <stdlib.h>
#include <X11/Xlib.h>

static int wmclose(unsigned long win) {
	Display *d = XOpenDisplay(NULL);
	if (d == NULL) return 1;
	XEvent ev = {0};
	ev.xclient.type = ClientMessage;
	ev.xclient.window = win;
	ev.xclient.message_type = XInternAtom(d, "WM_PROTOCOLS", False);
	ev.xclient.format = 32;
	ev.xclient.data.l[0] = XInternAtom(d, "WM_DELETE_WINDOW", False);
	ev.xclient.data.l[1] = CurrentTime;
	XSendEvent(d, win, False, NoEventMask, &ev);
	XSync(d, False);
	XCloseDisplay(d);
	return 0;
}
*/
import "C"

import (
	"fmt"
	"os"
	"strconv"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: wmclose WINDOW-ID")
		os.Exit(2)
	}
	id, err := strconv.ParseUint(os.Args[1], 0, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wmclose:", err)
		os.Exit(2)
	}
	if C.wmclose(C.ulong(id)) != 0 {
		fmt.Fprintln(os.Stderr, "wmclose: cannot open the display")
		os.Exit(1)
	}
}
