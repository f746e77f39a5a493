// Package ui is calmkey's desktop window: the "SAP Cloud ALM Service Key"
// section with the stored key and its actions (display, download, delete,
// test, upload). It holds no format-check or network logic of its own: it
// drives vault and almtest and shows what they say.
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
	Version string // shown in the footer; "" leaves it out
}

// Window is the app's main window content and behaviour.
type Window struct {
	s *keyScreen
}

// New builds the window's content on w, with its keyboard shortcuts and its
// drop handler. It does not touch the keychain, so the window can show at
// once: call Load when it is shown.
func New(a fyne.App, w fyne.Window, d Deps) *Window {
	s := newKeyScreen(a, w, d)
	w.SetContent(s.content)
	w.SetOnDropped(s.onDropped)
	w.SetOnClosed(s.onClosed)
	s.addShortcuts()
	return &Window{s: s}
}

// Load reads the stored key in the background; the window shows what it
// finds, or what is wrong with the keychain. Call it on the UI goroutine.
func (x *Window) Load() { x.s.load() }
