package ui

import "fyne.io/fyne/v2"

// systemNotifier tells the desktop through Fyne, which on macOS hands the
// text to the system's notification centre as data.
func systemNotifier(a fyne.App) func(title, body string) {
	return func(title, body string) { a.SendNotification(fyne.NewNotification(title, body)) }
}
