package instance

import "golang.org/x/sys/windows"

var allowSetForegroundWindow = windows.NewLazySystemDLL("user32.dll").NewProc("AllowSetForegroundWindow")

// allowForeground lets the running app bring its window to the front.
// Windows gives the foreground only to the process the user last started or
// clicked, which is this one; without this, the running app's request
// would only flash its taskbar button. A failure changes nothing else.
func allowForeground(pid int) {
	if pid > 0 && allowSetForegroundWindow.Find() == nil {
		_, _, _ = allowSetForegroundWindow.Call(uintptr(pid))
	}
}
