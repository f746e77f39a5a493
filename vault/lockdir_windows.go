package vault

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// lockDir is the folder of the keychain lock: the user's local AppData
// folder + "calmkey", as Windows' Known Folder API names it for the user
// (not %LOCALAPPDATA%, which a scheduled task or a shell may set
// otherwise: two lock files for one keychain let two writers through).
func lockDir() (string, error) {
	base, err := windows.KnownFolderPath(windows.FOLDERID_LocalAppData, 0)
	if err != nil {
		return "", fmt.Errorf("calmkey finds no local AppData folder for its lock file: %w", err)
	}
	return filepath.Join(base, "calmkey"), nil
}
