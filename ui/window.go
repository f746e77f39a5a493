package ui

import (
	"context"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/widget"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/vault"
)

// Title is the window's title, in the window's language (call
// SetupLanguage first): it holds the keys of several tenants.
func Title() string {
	return lang.X("window.title", "calmkey — SAP Cloud ALM Service Keys")
}

// keyState is what the window knows about the keychain.
type keyState int

const (
	stLoading keyState = iota // the first read has not answered yet
	stEmpty                   // no key stored
	stStored                  // a section per stored tenant (a damaged key among them)
	stFailed                  // the keychain could not be read: w.loadErr says why
)

// window wires the parts: it reads the keychain (at start, when a key
// changed underneath, before an action acts) and keeps what it shows true
// to it, shows the keychain's state, takes uploads (file dialog, drop,
// paste), and owns the keyboard shortcuts. The parts do one job each and
// are given what they need, not the window.
type window struct {
	app     fyne.App
	win     fyne.Window
	store   *vault.Store
	history *almtest.History // the last tests, shared with calmkeyctl; nil: none kept
	// do runs a widget update on the UI goroutine: fyne.Do, except in
	// tests, whose driver would run it on the calling goroutine and race
	// with the test.
	do   func(func())
	seam seams

	// State, touched on the UI goroutine only.
	state   keyState
	loadErr error
	shown   *stamps // the stamps of what the window shows; nil when not known (the last read gave no definite answer)
	closed  bool

	busy    *busyTracker
	watch   *watcher
	clip    *clipboard
	tests   *tester
	bar     *toolbar
	line    *messageLine
	foot    *footer
	secs    *sectionList
	dialogs *dialogs
	banner  *banner // the reminders above the sections (banner.go)
}

// seams are what tests replace: Fyne's file and folder dialogs, which have
// no public API to pick an entry, and the clock.
type seams struct {
	openFile     func(callback func(fyne.URIReadCloser, error))
	chooseFolder func(start fyne.ListableURI, callback func(fyne.ListableURI, error))
	now          func() time.Time
	native       *nativeDialogs // the desktop's own file dialogs (filepick.go); nil: Fyne's
}

func newWindow(a fyne.App, fw fyne.Window, d Deps, do func(func())) *window {
	w := &window{app: a, win: fw, store: d.Store, history: d.History, do: do}
	w.seam = seams{
		now: time.Now,
		openFile: func(callback func(fyne.URIReadCloser, error)) {
			fd := dialog.NewFileOpen(callback, fw)
			fd.SetFilter(storage.NewExtensionFileFilter([]string{".txt", ".json"}))
			fd.Show()
		},
		chooseFolder: func(start fyne.ListableURI, callback func(fyne.ListableURI, error)) {
			fd := dialog.NewFolderOpen(callback, fw)
			if start != nil {
				fd.SetLocation(start)
			}
			fd.Show()
		},
		native: newNativeDialogs(fw),
	}
	w.busy = &busyTracker{do: do, render: w.render, slowAfter: time.Second}
	w.watch = newWatcher(pollEvery, w.readStamps, &w.busy.inFlight, w.stamped, do)
	w.clip = &clipboard{app: a, do: do, clearAfter: 30 * time.Second}
	w.tests = newTester(d.Test, d.History, do)
	w.applyProxyPref()
	w.bar = newToolbar(w.onUpload, w.onPaste, w.onTestAll, w.onProxy)
	w.line = newMessageLine(w.load)
	acts := sectionActions{display: w.onDisplay, download: w.onDownload, delete: w.onDelete, test: w.onTest, replace: w.onReplace}
	w.foot = newFooter(d.Version, a.Preferences())
	w.secs = &sectionList{
		accordion: widget.NewAccordion(),
		newSec: func(tenant string) *section {
			return newSection(tenant, func() time.Time { return w.seam.now() }, acts)
		},
	}
	w.dialogs = &dialogs{parent: fw}
	w.banner = newBanner(a.Preferences(), func() time.Time { return w.seam.now() }, w.openSection)
	return w
}

// build lays the parts out: the toolbar and message line on top, the
// sections, the footer.
func (w *window) build() fyne.CanvasObject {
	w.win.SetTitle(Title())
	top := container.NewVBox(w.bar.box, w.line.box, w.banner.box)
	// In a VBox the accordion is as tall as its sections: collapsed ones
	// follow the open one, and the scroll starts only when they do not fit.
	w.banner.scroll = container.NewVScroll(container.NewVBox(w.secs.accordion))
	return container.NewBorder(top, w.foot.box, nil, nil, w.banner.scroll)
}

// canAdd reports whether the keychain's state lets a tenant's key be
// added: it was read, and it is not damaged beyond naming its tenants.
func (w *window) canAdd() bool {
	return w.state == stEmpty || (w.state == stStored && !w.secs.corrupt())
}

// render makes the widgets show the state. Call it on the UI goroutine after
// every change.
func (w *window) render() {
	idle := w.busy.idle()
	loading := w.state == stLoading
	w.foot.render(loading)
	w.secs.render(idle)
	w.banner.update(w.secs.all, w.state == stStored || w.state == stEmpty)
	w.bar.render(loading, idle, w.canAdd(), w.state == stStored && !w.secs.corrupt(), w.secs.testing())
	show(w.line.dropHint, w.state == stEmpty)

	switch {
	case w.busy.waiting:
		w.line.set(waitingText(), widget.WarningImportance)
	case loading:
		w.line.set(readingText(), widget.MediumImportance)
	case !idle && w.busy.msg != "":
		w.line.set(w.busy.msg, widget.MediumImportance)
	case w.state == stFailed:
		w.line.set(loadFailureText(w.loadErr), widget.DangerImportance)
	case w.line.news != "":
		w.line.set(w.line.news, widget.WarningImportance)
	default:
		w.line.set("", widget.MediumImportance)
	}
	show(w.line.retry, idle && w.state == stFailed)
}

// loadFailureText says what is wrong with the keychain and what to do;
// vault's errors carry the what-to-do for the user's system (ErrBusy's
// "another calmkey is changing the key; try again" among them).
func loadFailureText(err error) string {
	return lang.X("window.line.loadFailed", "The service keys could not be read: {{.Error}}.", map[string]any{"Error": errText(err)})
}

// notStoredText and notDeletedText are for a store or delete that failed:
// what happened, that nothing changed, and what to do (vault's words).
func notStoredText(err error) string {
	return lang.X("window.keychain.notStored", "The service key was not stored: {{.Error}}.", map[string]any{"Error": errText(err)})
}

func notDeletedText(err error) string {
	return lang.X("window.keychain.notDeleted", "The service key was not deleted: {{.Error}}.", map[string]any{"Error": errText(err)})
}

// load reads the stored keys and shows them: at start and on Try again.
func (w *window) load() {
	if !w.busy.idle() {
		return
	}
	w.state = stLoading
	w.watch.paused.Store(false)
	w.read(readingText(), nil, nil)
}

// keychain runs op as the window's keychain call in flight (see
// busyTracker.run); a call of the window's own ends the news of what
// another program changed.
func (w *window) keychain(msg string, op func(ctx context.Context) error, done func(error)) {
	w.line.news = ""
	w.busy.run(msg, op, done)
}

// Keyboard shortcuts. Each works only where its button is offered, and not
// while a dialog is open, so a key press never acts behind a dialog.
func (w *window) addShortcuts() {
	mod := fyne.KeyModifierShortcutDefault
	// The section's buttons are those of the open section.
	inOpen := func(b func(*sectionRow) *widget.Button) func() *widget.Button {
		return func() *widget.Button {
			if sec := w.secs.open(); sec != nil {
				return b(sec.row)
			}
			return nil
		}
	}
	window := func(b *widget.Button) func() *widget.Button { return func() *widget.Button { return b } }
	for _, sc := range []struct {
		key fyne.KeyName
		mod fyne.KeyModifier
		b   func() *widget.Button
	}{
		{fyne.KeyD, mod, inOpen(func(r *sectionRow) *widget.Button { return r.displayButton })},
		{fyne.KeyS, mod, inOpen(func(r *sectionRow) *widget.Button { return r.downloadButton })},
		{fyne.KeyDelete, mod, inOpen(func(r *sectionRow) *widget.Button { return r.deleteButton })},
		{fyne.KeyT, mod, inOpen(func(r *sectionRow) *widget.Button { return r.testButton })},
		{fyne.KeyT, mod | fyne.KeyModifierShift, window(w.bar.testAll)},
		{fyne.KeyO, mod, window(w.bar.upload)},
	} {
		b := sc.b
		w.win.Canvas().AddShortcut(&desktop.CustomShortcut{KeyName: sc.key, Modifier: sc.mod}, func(fyne.Shortcut) { w.press(b()) })
	}
	w.win.Canvas().AddShortcut(&fyne.ShortcutPaste{}, func(fyne.Shortcut) { w.press(w.bar.paste) })
}

func (w *window) press(b *widget.Button) {
	if b == nil || b.Hidden || b.Disabled() || w.dialogs.anyOpen() {
		return
	}
	b.OnTapped()
}

// onForeground runs when the app comes to the foreground: the user may
// have used calmkeyctl meanwhile, so the window checks at once.
func (w *window) onForeground() { w.watch.resume() }

// onClosed takes a secret this app copied or a key it was pasted off the
// clipboard when the window closes, so it does not outlive the app there,
// stops a running test and the watcher.
func (w *window) onClosed() {
	if w.closed {
		return
	}
	w.closed = true
	w.watch.close()
	w.banner.end()
	w.clip.close()
	for _, sec := range w.secs.all {
		if sec.running != nil {
			sec.running.cancel()
		}
	}
}
