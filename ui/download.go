package ui

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/calmkey/calmkey/internal/privfile"
	"github.com/calmkey/calmkey/vault"
)

// prefDownloadFolder is the Preferences key of the folder last saved to.
const prefDownloadFolder = "downloadFolder"

// downloadDialog asks where to save a tenant's key file: a folder, chosen with
// Fyne's folder dialog, and a file name. It stands in for Fyne's file-save
// dialog, which creates or empties the chosen file itself (os.Create, which
// follows a symlink and empties its target) before the app could write it
// owner-only. This one only names a place; the app's own writer (privfile)
// writes there, and never over an existing file or link unless the user
// says to replace it.
type downloadDialog struct {
	tenant       string
	chooseFolder func(start fyne.ListableURI, callback func(fyne.ListableURI, error))
	saveTo       func(path string) // writes the key there (the dialog is closed)
	prefs        fyne.Preferences
	folder       string
	where        *widget.Label
	change       *widget.Button
	name         *widget.Entry
	problem      *widget.Label
	save         *widget.Button
	cancel       *widget.Button
	dialog       *dialog.CustomDialog
	open         bool
	replace      *dialog.ConfirmDialog // the last "replace it?" question
}

// onDownload asks where to save the key, byte for byte as uploaded. The
// folder proposed is the one last saved to, else Downloads, else home; it
// is looked up away from the UI goroutine (it may be on a network share).
func (w *window) onDownload(sec *section) {
	if sec.stored == nil || w.saveNative(sec) {
		return
	}
	remembered := w.app.Preferences().String(prefDownloadFolder)
	go func() {
		folder := proposedFolder(remembered)
		w.do(func() {
			if sec.stored != nil && w.secs.byTenant(sec.tenant) == sec && !w.closed {
				w.showDownload(sec, folder)
			}
		})
	}()
}

func proposedFolder(remembered string) string {
	isDir := func(p string) bool {
		fi, err := os.Stat(p)
		return err == nil && fi.IsDir()
	}
	if remembered != "" && isDir(remembered) {
		return remembered
	}
	home, err := os.UserHomeDir()
	if err != nil {
		if wd, err := os.Getwd(); err == nil {
			return wd
		}
		return "."
	}
	if d := downloadsFolder(home); isDir(d) {
		return d
	}
	return home
}

func (w *window) showDownload(sec *section, folder string) {
	v := &downloadDialog{
		tenant: sec.tenant, folder: folder, prefs: w.app.Preferences(),
		chooseFolder: func(start fyne.ListableURI, cb func(fyne.ListableURI, error)) { w.seam.chooseFolder(start, cb) },
		saveTo:       func(path string) { w.placeDownload(sec, path, false) },
	}
	v.where = &widget.Label{Text: folder, Truncation: fyne.TextTruncateEllipsis}
	v.change = &widget.Button{Text: lang.X("window.download.choose", "Choose…"), Icon: theme.FolderOpenIcon(), OnTapped: v.onChooseFolder}
	v.name = widget.NewEntry()
	v.name.SetText(downloadName(sec.stored.Key))
	v.name.OnSubmitted = func(string) { v.onSave() }
	v.problem = &widget.Label{Wrapping: fyne.TextWrapWord, Importance: widget.DangerImportance}
	v.problem.Hide()
	v.save = &widget.Button{Text: lang.X("window.button.save", "Save"), Icon: theme.DocumentSaveIcon(), Importance: widget.HighImportance, OnTapped: v.onSave}
	v.cancel = &widget.Button{Text: lang.X("window.button.cancel", "Cancel"), Icon: theme.CancelIcon(), OnTapped: func() { v.dialog.Hide() }}
	form := widget.NewForm(
		widget.NewFormItem(lang.X("window.download.folder", "Folder"), container.NewBorder(nil, nil, nil, v.change, v.where)),
		widget.NewFormItem(lang.X("window.download.fileName", "File name"), v.name),
	)
	note := wrapped(lang.X("window.download.note", "The file holds the key's client secret or private key; calmkey makes it readable by your user only. It does not replace an existing file without asking."))
	v.dialog = dialog.NewCustomWithoutButtons(lang.X("window.download.title", "Download the service key of {{.Tenant}}", map[string]any{"Tenant": shortName(sec.tenant)}), container.NewVBox(form, v.problem, note), w.win)
	v.dialog.SetButtons([]fyne.CanvasObject{v.cancel, v.save})
	tracked(v.dialog, &v.open)
	w.dialogs.download = v
	v.dialog.Show()
	v.dialog.Resize(fyne.NewSize(600, v.dialog.MinSize().Height))
	w.win.Canvas().Focus(v.name)
}

func (v *downloadDialog) onChooseFolder() {
	var start fyne.ListableURI
	if l, err := storage.ListerForURI(storage.NewFileURI(v.folder)); err == nil {
		start = l
	}
	v.chooseFolder(start, func(u fyne.ListableURI, err error) {
		switch {
		case err != nil:
			v.setProblem(lang.X("window.download.folderFailed", "The folder could not be opened ({{.Error}}). Choose another one.", map[string]any{"Error": err.Error()}))
		case u == nil: // cancelled
		case u.Scheme() != "file":
			v.setProblem(lang.X("window.download.localFolder", "Choose a folder on this computer."))
		default:
			v.folder = filepath.FromSlash(u.Path())
			v.where.SetText(v.folder)
			v.problem.Hide()
		}
	})
}

func (v *downloadDialog) setProblem(text string) {
	v.problem.SetText(text)
	v.problem.Show()
}

// onSave takes the place the user named and looks at what is there, away
// from the UI goroutine.
func (v *downloadDialog) onSave() {
	name := strings.TrimSpace(v.name.Text)
	if p := fileNameProblem(name); p != "" {
		v.setProblem(p)
		return
	}
	path := filepath.Join(v.folder, name)
	v.dialog.Hide()
	v.prefs.SetString(prefDownloadFolder, v.folder)
	v.saveTo(path)
}

// fileNameProblem says what is wrong with a file name typed in the
// download dialog, "" when nothing is.
func fileNameProblem(name string) string {
	bad := "/\\"
	if runtime.GOOS == "windows" {
		bad += `<>:"|?*`
	}
	switch {
	case name == "":
		return lang.X("window.download.noName", "Enter a file name.")
	case name == "." || name == "..":
		return lang.X("window.download.notAName", "{{.Name}} is not a file name. Enter a file name, such as {{.Example}}.", map[string]any{"Name": name, "Example": downloadName(&vault.Key{})})
	case strings.ContainsAny(name, bad):
		return lang.X("window.download.nameAlone", "Enter the file name alone, without {{.Characters}}; choose the folder above.", map[string]any{"Characters": strings.Join(strings.Split(bad, ""), " ")})
	case strings.IndexFunc(name, vault.Invisible) >= 0:
		return lang.X("window.download.invisible", "The file name holds a control or invisible character. Type it again.")
	}
	return ""
}

// placeDownload writes the key to path if nothing is there, and asks first
// when a file, or a link, is. confirmed: the user already chose to replace
// a file at path in the desktop's save dialog (Windows' asks), so a file
// there is replaced without a second question; a link is still asked about.
func (w *window) placeDownload(sec *section, path string, confirmed bool) {
	go func() {
		fi, err := os.Lstat(path)
		target := ""
		if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			target, _ = os.Readlink(path)
		}
		w.do(func() {
			switch {
			case errors.Is(err, fs.ErrNotExist):
				w.writeDownload(sec, path, false)
			case err != nil:
				w.dialogs.warn(notSavedTitle(), lang.X("window.download.lookFailed", "calmkey could not look at {{.Path}} ({{.Error}}). Choose another folder and download it again.",
					map[string]any{"Path": path, "Error": err.Error()}))
			case fi.IsDir():
				w.dialogs.warn(notSavedTitle(), lang.X("window.download.isFolder", "{{.Path}} is a folder. Download again and choose another file name.", map[string]any{"Path": path}))
			case fi.Mode()&fs.ModeSymlink == 0 && confirmed:
				w.writeDownload(sec, path, true)
			case fi.Mode()&fs.ModeSymlink != 0:
				w.askReplace(sec, path, lang.X("window.download.replaceLink.title", "Replace the link?"),
					lang.X("window.download.replaceLink", "{{.Name}} is a link to {{.Target}}. Replace the link itself with the key file? The file it points to is left as it is.",
						map[string]any{"Name": filepath.Base(path), "Target": vault.Printable(target)}))
			default:
				w.askReplace(sec, path, lang.X("window.download.replaceFile.title", "Replace the file?"),
					lang.X("window.download.replaceFile", "{{.Name}} already exists in {{.Folder}}. Replace it with the service key? What it holds now will be lost.",
						map[string]any{"Name": filepath.Base(path), "Folder": filepath.Dir(path)}))
			}
		})
	}()
}

func (w *window) askReplace(sec *section, path, title, question string) {
	d := dialog.NewCustomConfirm(title, lang.X("window.button.replace", "Replace"), lang.X("window.button.keep", "Keep"), wrapped(question), func(ok bool) {
		if ok {
			w.writeDownload(sec, path, true)
		}
	}, w.win)
	d.SetConfirmImportance(widget.DangerImportance)
	if v := w.dialogs.download; v != nil {
		v.replace = d
	}
	d.Show()
	d.Resize(fyne.NewSize(480, d.MinSize().Height))
}

// writeDownload reads the keychain again, then writes the key it holds,
// byte for byte as uploaded, through the app's owner-only writer: a new
// file, or, when the user said to replace what is there, a whole new file
// renamed over it (a link is replaced, not followed).
func (w *window) writeDownload(sec *section, path string, replace bool) {
	w.whenFresh(sec, lang.X("window.undone.save", "Nothing was saved."), func() {
		if sec.stored == nil {
			return
		}
		data := sec.stored.Key.Bytes()
		go func() {
			err := safely("saving the key file", func() error {
				if replace {
					return privfile.Replace(path, data)
				}
				return privfile.WriteNew(path, data)
			})
			w.do(func() {
				switch {
				case errors.Is(err, fs.ErrExist):
					// Something appeared there since the user chose it.
					w.placeDownload(sec, path, false)
				case err != nil:
					w.dialogs.warn(notSavedTitle(), lang.X("window.download.writeFailed", "Writing the key file failed ({{.Error}}). Choose another folder, or free some disk space, and download it again.", map[string]any{"Error": err.Error()}))
				default:
					w.dialogs.tell(lang.X("window.download.saved.title", "Key saved"), lang.X("window.download.saved", "The service key was saved to {{.Path}}. The file holds the client secret or private key: only your user can read it. Delete it once you no longer need it.", map[string]any{"Path": path}))
				}
			})
		}()
	})
}

// maxNameTenant is the most characters of the tenant in a proposed file
// name.
const maxNameTenant = 64

// downloadName proposes "<tenant>-service-key.txt", keeping the tenant to
// characters that are safe in a file name everywhere.
func downloadName(k *vault.Key) string {
	t := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, k.Tenant)
	t = strings.Trim(t, ".")
	// A file name holds at most 255 bytes on every system: a tenant of
	// hundreds of characters is cut, and the name stays readable.
	if len(t) > maxNameTenant {
		t = strings.TrimRight(t[:maxNameTenant], ".")
	}
	if t == "" {
		t = "sap-cloud-alm"
	}
	return t + "-service-key.txt"
}
