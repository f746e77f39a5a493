package main

import (
	"fmt"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver"
	"golang.org/x/sys/windows"
)

var (
	user32     = windows.NewLazySystemDLL("user32.dll")
	isIconic   = user32.NewProc("IsIconic")
	showWindow = user32.NewProc("ShowWindow")
)

// restore brings a minimised window back: on Windows, Fyne's Show leaves it
// on the taskbar. Call it on the UI goroutine.
func restore(w fyne.Window) {
	nw, ok := w.(driver.NativeWindow)
	if !ok || isIconic.Find() != nil || showWindow.Find() != nil {
		return
	}
	nw.RunNative(func(ctx any) {
		c, ok := ctx.(driver.WindowsWindowContext)
		if !ok || c.HWND == 0 {
			return
		}
		if iconic, _, _ := isIconic.Call(c.HWND); iconic != 0 {
			_, _, _ = showWindow.Call(c.HWND, windows.SW_RESTORE)
		}
	})
}

// tell shows a message box: calmkey.exe is a GUI program, and its stderr
// goes nowhere when it is started from the Start menu or Explorer.
func tell(msg string) {
	fmt.Fprintln(os.Stderr, "calmkey:", msg)
	text, err1 := windows.UTF16PtrFromString(msg)
	title, err2 := windows.UTF16PtrFromString("calmkey")
	if err1 == nil && err2 == nil {
		_, _ = windows.MessageBox(0, text, title, windows.MB_OK|windows.MB_ICONWARNING)
	}
}
