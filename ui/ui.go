// Package ui is calmkey's desktop window: the "SAP Cloud ALM Service Key"
// section with the stored key and its actions (display, download, delete,
// test, upload). It holds no format-check or network logic of its own: it
// drives vault and almtest and shows what they say.
//
// The code has two parts. A section (section.go, testrun.go) is one
// tenant's key: its row, details, actions, running test and last test
// result. The window (window.go, watch.go) is everything around it: reading
// the keychain and keeping the window true to it, the message line, uploads
// (file, drop, paste), the keyboard shortcuts and the dialogs, which the
// window owns (delete.go, display.go, download.go, upload.go).
package ui

import (
	"fyne.io/fyne/v2"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/vault"
)

// Deps are the parts the window works with.
type Deps struct {
	Store   *vault.Store
	Test    almtest.Options
	History *almtest.History // the last tests, shared with calmkeyctl; nil keeps none
	Version string           // shown in the footer; "" leaves it out
}

// Window is the app's main window content and behaviour.
type Window struct {
	w *window
}

// New builds the window's content on fw, with its keyboard shortcuts, its
// drop handler, and a hook that reads the keychain again when the app comes
// to the foreground. It does not touch the keychain, so the window can show
// at once: call Load when it is shown.
func New(a fyne.App, fw fyne.Window, d Deps) *Window {
	w := newWindow(a, fw, d)
	fw.SetContent(w.content)
	fw.SetOnDropped(w.onDropped)
	fw.SetOnClosed(w.onClosed)
	a.Lifecycle().SetOnEnteredForeground(w.onForeground)
	w.addShortcuts()
	return &Window{w: w}
}

// Load reads the stored key in the background; the window shows what it
// finds, or what is wrong with the keychain. From then on, until the window
// closes, it checks every few seconds whether another program (calmkeyctl,
// another window) changed the key, and shows the change. Call it on the UI
// goroutine.
func (x *Window) Load() {
	x.w.load()
	x.w.startWatch()
}
