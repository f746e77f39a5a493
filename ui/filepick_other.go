//go:build !windows && !linux

package ui

import "path/filepath"

// platformPicker: on macOS calmkey keeps Fyne's dialogs.
func platformPicker() picker { return nil }

// downloadsFolder is where the file dialogs start when no folder was used
// yet (if it exists).
func downloadsFolder(home string) string { return filepath.Join(home, "Downloads") }
