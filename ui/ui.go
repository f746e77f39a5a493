// Package ui is calmkey's desktop window: a section per tenant with its
// stored service key and its actions (display, download, delete, test),
// and the uploads that add a tenant's key. It holds no format-check or
// network logic of its own: it drives vault and almtest and shows what
// they say.
//
// The window is made of parts, each with one job, one file each:
//   - window.go: the window, which wires the parts and reads the keychain
//     (keys.go) and keeps the view true to it (watch.go);
//   - watcher.go: the goroutine that polls the stamps;
//   - busy.go: the keychain call in flight, and the slow message;
//   - clipboard.go: a copied secret or a pasted key, taken off again;
//   - toolbar.go: the buttons above the sections, the message line and
//     the footer;
//   - sections.go and section.go: the tenants' sections; testrun.go runs
//     a section's test;
//   - dialogs.go and one file per dialog (delete.go, display.go,
//     download.go, upload.go): each dialog is given what it needs, never
//     the window.
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
	w := newWindow(a, fw, d, fyne.Do)
	w.banner.notify = systemNotifier(a)
	return mount(a, fw, w)
}

// mount puts w on fw and hooks it to fw's and a's events.
func mount(a fyne.App, fw fyne.Window, w *window) *Window {
	fw.SetContent(w.build())
	w.render()
	fw.SetOnDropped(w.onDropped)
	fw.SetOnClosed(w.onClosed)
	a.Lifecycle().SetOnEnteredForeground(w.onForeground)
	w.addShortcuts()
	return &Window{w: w}
}

// Load reads the stored keys in the background; the window shows what it
// finds, or what is wrong with the keychain. From then on, until the window
// closes, it checks every few seconds whether another program (calmkeyctl,
// another window) changed a key or recorded a test, and shows the change.
// Call it on the UI goroutine.
func (x *Window) Load() {
	x.w.load()
	x.w.watch.start()
	x.w.banner.start(x.w.do, x.w.render)
}
