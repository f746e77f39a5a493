package ui

import "fyne.io/fyne/v2"

// systemNotifier is nil on Windows: the banner and Task Scheduler remind
// there. Fyne 2.7.1's SendNotification writes the text into a PowerShell
// script, escaping only the backtick and the ASCII double quote, so a
// tenant name with $(…) or German quotes („ “ ”, which PowerShell reads as
// double quotes) would run as code.
func systemNotifier(fyne.App) func(title, body string) { return nil }
