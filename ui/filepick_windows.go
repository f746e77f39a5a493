package ui

import (
	"errors"
	"path/filepath"

	"github.com/ncruces/zenity"
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
	return answer(zenity.SelectFile(opts...))
}

// pickSave does not ask zenity for ConfirmOverwrite: the app asks before it
// replaces a file or a link (placeDownload), whatever the dialog did.
func (zenityPicker) pickSave(r pickRequest) (string, error) {
	opts := append(commonOptions(r), zenity.Filename(filepath.Join(r.folder, r.name)))
	return answer(zenity.SelectFileSave(opts...))
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
