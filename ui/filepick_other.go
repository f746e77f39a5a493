//go:build !windows && !linux

package ui

// platformPicker: on macOS calmkey keeps Fyne's dialogs.
func platformPicker() picker { return nil }
