package ui

import "golang.org/x/sys/windows"

// systemLanguage is the user's first display language. Fyne reads
// GetUserDefaultLocaleName, the region format (Fyne issue #5319): an admin
// with English Windows and German dates would get German.
func systemLanguage() string {
	langs, err := windows.GetUserPreferredUILanguages(windows.MUI_LANGUAGE_NAME)
	if err != nil || len(langs) == 0 {
		return ""
	}
	return langs[0]
}
