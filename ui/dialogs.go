package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
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
	d := dialog.NewCustom(title, "OK", wrapped(text), ds.parent)
	d.SetIcon(theme.WarningIcon())
	ds.notice = &notice{title: title, text: text, isError: true, dialog: d}
	d.Show()
	d.Resize(fyne.NewSize(480, d.MinSize().Height))
}

// offerRetry is a warning with Try again, for a keychain that another
// calmkey holds (vault.ErrBusy): nothing changed, and trying again in a
// moment works.
func (ds *dialogs) offerRetry(title, text string, retry func()) {
	d := dialog.NewCustomConfirm(title, "Try again", "Cancel", wrapped(text), func(ok bool) {
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
