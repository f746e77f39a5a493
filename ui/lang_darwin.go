package ui

import "fyne.io/fyne/v2/lang"

// systemLanguage is the language Fyne reads from macOS's preferences.
func systemLanguage() string { return lang.SystemLocale().String() }
