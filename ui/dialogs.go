package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// dialogs shows the window's notices, and keeps the dialog last shown of
// each kind: the window closes one that is about a key no longer stored,
// and tests look at them and answer them.
type dialogs struct {
	parent fyne.Window

	notice   *notice
	delete   *deleteDialog
	upload   *uploadDialog
	problems *problemsDialog
	display  *displayDialog
	download *downloadDialog
	proxy    *proxyDialog
	replace  *replaceDialog
}

// notice is an information or error dialog; retry is set when it offers
// Try again.
type notice struct {
	title, text string
	isError     bool
	dialog      dialog.Dialog
	retry       *dialog.ConfirmDialog
}

// anyOpen reports whether a dialog is open on the window: a key press
// never acts behind one.
func (ds *dialogs) anyOpen() bool { return ds.parent.Canvas().Overlays().Top() != nil }

func (ds *dialogs) tell(title, text string) {
	ds.notice = &notice{title: title, text: text, dialog: dialog.NewInformation(title, text, ds.parent)}
	ds.notice.dialog.Show()
}

func (ds *dialogs) warn(title, text string) {
	d := dialog.NewCustom(title, lang.X("window.button.ok", "OK"), wrapped(text), ds.parent)
	d.SetIcon(theme.WarningIcon())
	ds.notice = &notice{title: title, text: text, isError: true, dialog: d}
	d.Show()
	d.Resize(fyne.NewSize(480, d.MinSize().Height))
}

// offerRetry is a warning with Try again, for a keychain that another
// calmkey holds (vault.ErrBusy): nothing changed, and trying again in a
// moment works.
func (ds *dialogs) offerRetry(title, text string, retry func()) {
	d := dialog.NewCustomConfirm(title, lang.X("window.button.retry", "Try again"), lang.X("window.button.cancel", "Cancel"), wrapped(text), func(ok bool) {
		if ok {
			retry()
		}
	}, ds.parent)
	ds.notice = &notice{title: title, text: text, isError: true, dialog: d, retry: d}
	d.Show()
	d.Resize(fyne.NewSize(480, d.MinSize().Height))
}

func wrapped(text string) *widget.Label {
	return &widget.Label{Text: text, Wrapping: fyne.TextWrapWord}
}

// tracked marks *open while d shows.
func tracked(d dialog.Dialog, open *bool) {
	*open = true
	d.SetOnClosed(func() { *open = false })
}

// pleaseWait says that an action must wait for the keychain call in flight.
func (ds *dialogs) pleaseWait() {
	ds.warn(lang.X("window.wait.title", "Please wait"), lang.X("window.wait", "calmkey is still talking to the keychain. Try again once it has answered."))
}

// Titles that several dialogs share.

func alreadyHasKeyTitle() string {
	return lang.X("window.title.hasKey", "The tenant already has a key")
}

func notStoredTitle() string { return lang.X("window.title.notStored", "The key was not stored") }

func notDeletedTitle() string { return lang.X("window.title.notDeleted", "The key was not deleted") }

func noAnswerTitle() string { return lang.X("window.title.noAnswer", "The keychain did not answer") }

func keyChangedTitle() string { return lang.X("window.title.keyChanged", "The service key changed") }

func notSavedTitle() string { return lang.X("window.title.notSaved", "The key was not saved") }
