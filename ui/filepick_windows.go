package ui

import (
	"errors"
	"path/filepath"
	"runtime"

	"github.com/ncruces/zenity"
	"golang.org/x/sys/windows"
)

// zenityPicker shows Windows' own file dialogs (IFileOpenDialog and
// IFileSaveDialog, through zenity's COM calls), owned by the calmkey window
// so that they stay in front of it and it takes no input meanwhile. zenity
// runs each dialog on a locked OS thread of the goroutine that asks.
type zenityPicker struct{}

func platformPicker() picker { return zenityPicker{} }

func (zenityPicker) pickOpen(r pickRequest) (string, error) {
	opts := append(commonOptions(r), zenity.FileFilters{
		{Name: r.keyFiles, Patterns: []string{"*.txt", "*.json"}, CaseFold: true},
		{Name: r.allFiles, Patterns: []string{"*.*"}},
	})
	if r.folder != "" {
		// A folder ending in a separator is where the dialog starts.
		opts = append(opts, zenity.Filename(r.folder+string(filepath.Separator)))
	}
	defer singleThreaded()()
	return answer(zenity.SelectFile(opts...))
}

// pickSave: Windows' save dialog asks before it answers with a file that
// exists (FOS_OVERWRITEPROMPT, its default, asked for here as well), so
// calmkey does not ask again about a file; it still asks about a link
// (placeDownload).
func (zenityPicker) pickSave(r pickRequest) (string, error) {
	opts := append(commonOptions(r), zenity.Filename(filepath.Join(r.folder, r.name)), zenity.ConfirmOverwrite())
	defer singleThreaded()()
	return answer(zenity.SelectFileSave(opts...))
}

func (zenityPicker) asksBeforeReplacing() bool { return true }

// singleThreaded makes the goroutine's thread a single-threaded COM
// apartment, as the shell's dialogs expect, until the returned function is
// called; zenity then keeps it (it would make a multi-threaded one, in which
// Wine's open dialog takes a typed name but never opens it).
func singleThreaded() func() {
	runtime.LockOSThread()
	err := windows.CoInitializeEx(0, windows.COINIT_APARTMENTTHREADED)
	return func() {
		if err == nil || errors.Is(err, windows.Errno(1)) { // S_OK, S_FALSE
			windows.CoUninitialize()
		}
		runtime.UnlockOSThread()
	}
}

// downloadsFolder is the user's Downloads folder where Windows keeps it
// (a policy or the user may have moved it to another drive), else
// home\Downloads.
func downloadsFolder(home string) string {
	if p, err := windows.KnownFolderPath(windows.FOLDERID_Downloads, 0); err == nil && p != "" {
		return p
	}
	return filepath.Join(home, "Downloads")
}

func commonOptions(r pickRequest) []zenity.Option {
	opts := []zenity.Option{zenity.Title(r.title)}
	if r.owner != 0 {
		opts = append(opts, zenity.Attach(r.owner))
	}
	return opts
}

// answer makes Cancel the picker's "" and no error.
func answer(path string, err error) (string, error) {
	if errors.Is(err, zenity.ErrCanceled) {
		return "", nil
	}
	return path, err
}
