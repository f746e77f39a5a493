package ui

// The desktop's own file dialogs: Windows' file-open and file-save dialogs,
// the Linux desktop's file chooser portal. They only pick a path; the key
// is still read through vault.ReadKeyFile and written through privfile, as
// with Fyne's dialogs, which stay where the desktop has none of its own or
// its dialog cannot open.

import (
	"log"
	"os"
	"path/filepath"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/storage"
)

// prefUploadFolder is the Preferences key of the folder a key file was last
// opened from.
const prefUploadFolder = "uploadFolder"

// picker is the desktop's own file dialog. Its methods block until the user
// answers, so they run off the UI goroutine. A path "" with no error means
// the user cancelled; an error means the dialog could not be shown (or
// failed), and Fyne's dialog is used instead.
type picker interface {
	pickOpen(r pickRequest) (string, error)
	pickSave(r pickRequest) (string, error)
	// asksBeforeReplacing: the save dialog itself asked the user before it
	// answered with a file that exists, so calmkey need not ask again.
	asksBeforeReplacing() bool
}

// pickRequest is what a native dialog is asked, in the window's language.
type pickRequest struct {
	owner    uintptr // the calmkey window (HWND, X11 window); 0: none known
	title    string
	folder   string // where the dialog starts
	name     string // the file name proposed (save)
	keyFiles string // the name of the *.txt;*.json filter (open)
	allFiles string // the name of the all-files filter (open)
}

// nativeDialogs is the window's way to the desktop's dialogs. Its fields
// are touched on the UI goroutine only.
type nativeDialogs struct {
	picker  picker
	win     fyne.Window
	picking bool // a dialog is open: Ctrl+O or Ctrl+S starts no second one
}

// newNativeDialogs returns nil where Fyne's dialogs are used: on a window
// without a native one (fyne/test's) and on a desktop with no dialog of its
// own for calmkey (macOS).
func newNativeDialogs(fw fyne.Window) *nativeDialogs {
	if _, ok := fw.(driver.NativeWindow); !ok {
		return nil
	}
	p := platformPicker()
	if p == nil {
		return nil
	}
	return &nativeDialogs{picker: p, win: fw}
}

// owner is the handle of the calmkey window, which owns the dialog so that
// it stays in front of it. Call it on the UI goroutine.
func (n *nativeDialogs) owner() uintptr {
	nw, ok := n.win.(driver.NativeWindow)
	if !ok {
		return 0
	}
	var h uintptr
	nw.RunNative(func(c any) {
		switch c := c.(type) {
		case driver.WindowsWindowContext:
			h = c.HWND
		case driver.X11WindowContext:
			h = c.WindowHandle
		}
	})
	return h
}

// openKeyFile asks for a key file to add: with the desktop's dialog when
// there is one, else (or when it cannot open) with Fyne's. callback runs
// on the UI goroutine, with nil, nil when the user cancelled.
func (w *window) openKeyFile(callback func(fyne.URIReadCloser, error)) {
	w.openKeyFileAs(lang.X("dialogs.open.title", "Add a tenant's service key"), callback)
}

// openKeyFileAs is openKeyFile with the desktop dialog's title (Fyne's has
// none of its own), for another purpose than adding a tenant's key.
func (w *window) openKeyFileAs(title string, callback func(fyne.URIReadCloser, error)) {
	n := w.seam.native
	if n == nil {
		w.seam.openFile(callback)
		return
	}
	if n.picking {
		return
	}
	n.picking = true
	remembered := w.app.Preferences().String(prefUploadFolder)
	r := pickRequest{
		owner:    n.owner(),
		title:    title,
		keyFiles: lang.X("dialogs.open.keyFiles", "Service key files"),
		allFiles: lang.X("dialogs.open.allFiles", "All files"),
	}
	go func() {
		var path string
		err := safely("opening the file dialog", func() error {
			r.folder = proposedFolder(remembered) // it may be on a slow share
			var err error
			path, err = n.picker.pickOpen(r)
			return err
		})
		w.do(func() {
			n.picking = false
			switch {
			case w.closed:
			case err != nil:
				log.Printf("calmkey: the system's file-open dialog did not open (%v); calmkey's own is used instead", err)
				w.seam.openFile(callback)
			case path == "": // cancelled
			default:
				w.app.Preferences().SetString(prefUploadFolder, filepath.Dir(path))
				callback(&pickedFile{path: path}, nil)
			}
		})
	}()
}

// saveNative asks where to save sec's key with the desktop's save dialog,
// and then writes it there as the app's own dialog would (placeDownload:
// owner-only, never through a link, asking before it replaces anything
// that the dialog did not ask about).
// It returns false when there is no such dialog: the caller shows its own.
func (w *window) saveNative(sec *section) bool {
	n := w.seam.native
	if n == nil {
		return false
	}
	if n.picking {
		return true
	}
	n.picking = true
	remembered := w.app.Preferences().String(prefDownloadFolder)
	r := pickRequest{
		owner: n.owner(),
		title: lang.X("dialogs.save.title", "Download the service key of {{.Tenant}}", map[string]any{"Tenant": shortName(sec.tenant)}),
		name:  downloadName(sec.stored.Key),
	}
	go func() {
		var path string
		err := safely("opening the save dialog", func() error {
			r.folder = proposedFolder(remembered)
			var err error
			path, err = n.picker.pickSave(r)
			return err
		})
		w.do(func() {
			n.picking = false
			switch {
			case w.closed || sec.stored == nil || w.secs.byTenant(sec.tenant) != sec:
				// The key went meanwhile: nothing to save.
			case err != nil:
				log.Printf("calmkey: the system's save dialog did not open (%v); calmkey's own is used instead", err)
				w.showDownload(sec, r.folder)
			case path == "": // cancelled
			default:
				w.app.Preferences().SetString(prefDownloadFolder, filepath.Dir(path))
				w.placeDownload(sec, path, n.picker.asksBeforeReplacing())
			}
		})
	}()
	return true
}

// pickedFile is a file chosen in a native dialog, handed on as Fyne's
// dialog hands on the file it opened. It is opened at the first Read, so
// that the UI goroutine never waits for a slow share.
type pickedFile struct {
	path string
	f    *os.File
}

func (p *pickedFile) URI() fyne.URI { return storage.NewFileURI(p.path) }

func (p *pickedFile) Read(b []byte) (int, error) {
	if p.f == nil {
		f, err := os.Open(p.path)
		if err != nil {
			return 0, err
		}
		p.f = f
	}
	return p.f.Read(b)
}

func (p *pickedFile) Close() error {
	if p.f == nil {
		return nil
	}
	return p.f.Close()
}
