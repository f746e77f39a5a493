package ui

import (
	"context"
	"errors"
	"fmt"
	"log"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/vault"
)

// keyState is what the window knows about the keychain.
type keyState int

const (
	stLoading keyState = iota // the first read has not answered yet
	stEmpty                   // no key stored
	stStored                  // the section holds the stored key
	stFailed                  // the keychain could not be read: w.loadErr says why
)

const (
	sectionTitle = "SAP Cloud ALM Service Key"
	waitingText  = "Waiting for the keychain (unlock it if your system asks)…"
	readingText  = "Reading the service key from the keychain…"
	timeLayout   = "2006-01-02 15:04"
)

// window is everything around the tenant section: it reads the keychain
// (at start, when the key changed underneath, before an action acts),
// shows the keychain's state and the message line, takes uploads (file
// dialog, drop, paste), and owns the keyboard shortcuts and the dialogs.
type window struct {
	app      fyne.App
	win      fyne.Window
	store    *vault.Store
	testOpts almtest.Options

	// Seams for tests. openFile and chooseFolder stand for Fyne's file and
	// folder dialogs, which have no public API to pick an entry. do runs a
	// widget update on the UI goroutine: fyne.Do, except in tests, whose
	// driver would run it on the calling goroutine and race with the test.
	openFile     func(callback func(fyne.URIReadCloser, error))
	chooseFolder func(start fyne.ListableURI, callback func(fyne.ListableURI, error))
	do           func(func())
	runLogonTest func(context.Context, *vault.Key, almtest.Options) *almtest.Report
	now          func() time.Time
	slowAfter    time.Duration // until "waiting for the keychain" shows
	clearAfter   time.Duration // until a copied secret leaves the clipboard
	pollEvery    time.Duration // between two checks whether the key changed

	// State, touched on the UI goroutine only.
	state   keyState
	loadErr error
	stamp   string // vault's Store.Stamp of what the window shows
	stampOK bool   // stamp is known: the last read gave a definite answer
	busy    int    // id of the keychain call in flight, 0 when none
	busyMsg string // what that call does, for the message line ("" says nothing unless slow)
	lastOp  int
	waiting bool   // the call in flight has been slow
	news    string // what another program changed, for the message line
	copied  string // a secret on the clipboard that the app takes off again
	pasted  string // pasted text on its way to the keychain, taken off the clipboard at its outcome
	closed  bool

	// Shared with the watcher goroutine (watch.go).
	keychainBusy atomic.Bool   // a keychain call of the window's own is in flight
	watchPaused  atomic.Bool   // a check failed: wait for the foreground or Try again
	wake         chan struct{} // asks the watcher to check now
	stop         chan struct{} // closed when the window closes
	watching     bool

	// sec is the tenant section: the one key the window shows, and the one
	// that the keyboard shortcuts act on.
	sec *section

	content   fyne.CanvasObject
	accordion *widget.Accordion
	upload    *widget.Button
	paste     *widget.Button
	message   *widget.Label
	retry     *widget.Button
	dropHint  *widget.Label
	footer    *widget.Separator
	help      *widget.Label

	// The dialog last shown of each kind, for tests to look at and answer.
	dialogs struct {
		notice   *notice
		delete   *deleteDialog
		upload   *uploadDialog
		problems *problemsDialog
		display  *displayDialog
		download *downloadDialog
	}
}

// pollEvery is how often an open window reads the keychain's manifest (one
// item, no lock) to see whether another program changed the key.
const pollEvery = 2 * time.Second

func newWindow(a fyne.App, fw fyne.Window, d Deps) *window {
	w := &window{
		app:          a,
		win:          fw,
		store:        d.Store,
		testOpts:     d.Test,
		do:           fyne.Do,
		runLogonTest: almtest.Run,
		now:          time.Now,
		slowAfter:    time.Second,
		clearAfter:   30 * time.Second,
		pollEvery:    pollEvery,
		wake:         make(chan struct{}, 1),
		stop:         make(chan struct{}),
	}
	w.openFile = func(callback func(fyne.URIReadCloser, error)) {
		fd := dialog.NewFileOpen(callback, w.win)
		fd.SetFilter(storage.NewExtensionFileFilter([]string{".txt", ".json"}))
		fd.Show()
	}
	w.chooseFolder = func(start fyne.ListableURI, callback func(fyne.ListableURI, error)) {
		fd := dialog.NewFolderOpen(callback, w.win)
		if start != nil {
			fd.SetLocation(start)
		}
		fd.Show()
	}
	w.build(d.Version)
	w.render()
	return w
}

func (w *window) build(version string) {
	w.sec = newSection(w)
	w.upload = &widget.Button{Text: "Upload", Icon: theme.ContentAddIcon(), Importance: widget.HighImportance, OnTapped: w.onUpload}
	w.paste = &widget.Button{Text: "Paste", Icon: theme.ContentPasteIcon(), OnTapped: w.onPaste}
	// While no key is stored, the section's row offers the window's ways
	// to add one beside its own actions.
	w.sec.actions.Add(w.upload)
	w.sec.actions.Add(w.paste)
	w.message = &widget.Label{Wrapping: fyne.TextWrapWord}
	w.retry = &widget.Button{Text: "Try again", Icon: theme.ViewRefreshIcon(), OnTapped: w.load}
	w.dropHint = &widget.Label{
		Text:     "Upload the key file you downloaded from the SAP BTP cockpit (Instances and Subscriptions > your SAP Cloud ALM API instance > Credentials > Download), drop it on this window, or copy its JSON and paste it.",
		Wrapping: fyne.TextWrapWord,
	}
	w.help = &widget.Label{Text: shortcutHelp(), SizeName: theme.SizeNameCaptionText}
	if version != "" {
		w.help.Text += "\ncalmkey " + version
	}
	w.footer = widget.NewSeparator()
	body := container.NewVBox(
		w.sec.row,
		container.NewBorder(nil, nil, nil, w.retry, w.message),
		w.dropHint,
		w.sec.details,
		w.sec.activity,
		w.sec.result.box,
		w.footer,
		w.help,
	)
	item := widget.NewAccordionItem(sectionTitle, body)
	item.Open = true
	w.accordion = widget.NewAccordion(item)
	w.content = container.NewVScroll(w.accordion)
}

// corrupt reports a stored key that cannot be read back: it can only be
// deleted.
func (w *window) corrupt() bool {
	return w.state == stFailed && errors.Is(w.loadErr, vault.ErrCorrupt)
}

// render makes the widgets show the state. Call it on the UI goroutine after
// every change.
func (w *window) render() {
	idle := w.busy == 0
	// The first frame is drawn before the window shows: while loading it
	// holds only what is needed, so the window appears sooner.
	loading := w.state == stLoading
	show(w.footer, !loading)
	show(w.help, !loading)

	w.sec.render(w.state, w.corrupt(), idle)

	// While loading nothing is offered: the actions depend on the answer.
	noKey := w.state == stEmpty || (w.state == stFailed && !w.corrupt())
	show(w.upload, noKey)
	show(w.paste, noKey)
	show(w.dropHint, w.state == stEmpty)
	enable(w.upload, idle && w.state == stEmpty)
	enable(w.paste, idle && w.state == stEmpty)

	switch {
	case w.waiting:
		w.setMessage(waitingText, widget.WarningImportance)
	case !idle && w.busyMsg != "" && !loading: // while loading, the name says it
		w.setMessage(w.busyMsg, widget.MediumImportance)
	case w.state == stFailed:
		w.setMessage(loadFailureText(w.loadErr), widget.DangerImportance)
	case w.news != "":
		w.setMessage(w.news, widget.WarningImportance)
	default:
		w.setMessage("", widget.MediumImportance)
	}
	show(w.retry, idle && w.state == stFailed)
}

func show(o fyne.CanvasObject, visible bool) {
	if visible {
		o.Show()
	} else {
		o.Hide()
	}
}

func enable(w fyne.Disableable, on bool) {
	if on {
		w.Enable()
	} else {
		w.Disable()
	}
}

func (w *window) setMessage(text string, imp widget.Importance) {
	w.message.Importance = imp
	w.message.SetText(text)
	show(w.message, text != "")
}

// loadFailureText says what is wrong with the keychain and what to do;
// vault's errors carry the what-to-do for the user's system (ErrBusy's
// "another calmkey is changing the key; try again" among them).
func loadFailureText(err error) string {
	return "The service key could not be read: " + err.Error() + "."
}

// keychainFailureText is for a store or delete that failed: what happened,
// that nothing changed, and what to do.
func keychainFailureText(action string, err error) string {
	return "The service key was not " + action + ": " + err.Error() + "."
}

// load reads the stored key and shows it: at start and on Try again.
func (w *window) load() {
	if w.busy != 0 {
		return
	}
	w.state = stLoading
	w.watchPaused.Store(false)
	w.read(readingText, nil)
}

// loaded takes the outcome of a Load.
func (w *window) loaded(st *vault.Stored, err error) {
	switch {
	case err == nil && st != nil && st.Key != nil:
		w.state, w.loadErr = stStored, nil
		w.sec.setKey(st)
	case errors.Is(err, vault.ErrNotFound) || err == nil:
		w.state, w.loadErr = stEmpty, nil
		w.sec.setKey(nil)
	default:
		w.state, w.loadErr = stFailed, err
		w.sec.setKey(nil)
	}
}

// keychain runs op away from the UI goroutine: a keychain can take long to
// answer (a locked collection, an unlock prompt, a missing daemon). msg is
// what the message line says meanwhile ("" for quick checks, which say
// nothing); when op is slow, the window says it waits for the keychain.
// done runs on the UI goroutine, then the window renders.
func (w *window) keychain(msg string, op func(ctx context.Context) error, done func(error)) {
	w.lastOp++
	id := w.lastOp
	w.busy, w.busyMsg, w.waiting = id, msg, false
	w.news = ""
	w.keychainBusy.Store(true)
	w.render()
	slow := time.AfterFunc(w.slowAfter, func() {
		w.do(func() {
			if w.busy == id {
				w.waiting = true
				w.render()
			}
		})
	})
	go func() {
		err := safely("using the keychain", func() error { return op(context.Background()) })
		slow.Stop()
		w.do(func() {
			w.busy, w.busyMsg, w.waiting = 0, "", false
			w.keychainBusy.Store(false)
			done(err)
			w.render()
		})
	}()
}

// safely turns a panic in f into an error, so that a bug in background work
// shows as a message instead of ending the app.
func safely(what string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			// The panic value itself is not logged: it might hold key material.
			log.Printf("calmkey: internal error while %s (%T)\n%s", what, r, debug.Stack())
			err = fmt.Errorf("calmkey hit an internal error while %s; please report it", what)
		}
	}()
	return f()
}

// notice is an information or error dialog; retry is set when it offers
// Try again.
type notice struct {
	title, text string
	isError     bool
	dialog      dialog.Dialog
	retry       *dialog.ConfirmDialog
}

func (w *window) tell(title, text string) {
	w.dialogs.notice = &notice{title: title, text: text, dialog: dialog.NewInformation(title, text, w.win)}
	w.dialogs.notice.dialog.Show()
}

func (w *window) warn(title, text string) {
	d := dialog.NewCustom(title, "OK", wrapped(text), w.win)
	d.SetIcon(theme.WarningIcon())
	w.dialogs.notice = &notice{title: title, text: text, isError: true, dialog: d}
	d.Show()
	d.Resize(fyne.NewSize(480, d.MinSize().Height))
}

// offerRetry is a warning with Try again, for a keychain that another
// calmkey holds (vault.ErrBusy): nothing changed, and trying again in a
// moment works.
func (w *window) offerRetry(title, text string, retry func()) {
	d := dialog.NewCustomConfirm(title, "Try again", "Cancel", wrapped(text), func(ok bool) {
		if ok {
			retry()
		}
	}, w.win)
	w.dialogs.notice = &notice{title: title, text: text, isError: true, dialog: d, retry: d}
	d.Show()
	d.Resize(fyne.NewSize(480, d.MinSize().Height))
}

func wrapped(text string) *widget.Label {
	return &widget.Label{Text: text, Wrapping: fyne.TextWrapWord}
}

// tracked marks *open while d shows.
func tracked(d dialog.Dialog, open *bool) {
	*open = true
	d.SetOnClosed(func() { *open = false })
}

// Keyboard shortcuts. Each works only where its button is offered, and not
// while a dialog is open, so a key press never acts behind a dialog.
func (w *window) addShortcuts() {
	mod := fyne.KeyModifierShortcutDefault
	for _, sc := range []struct {
		key fyne.KeyName
		b   *widget.Button
	}{
		{fyne.KeyD, w.sec.displayButton},
		{fyne.KeyS, w.sec.downloadButton},
		{fyne.KeyDelete, w.sec.deleteButton},
		{fyne.KeyT, w.sec.testButton},
		{fyne.KeyO, w.upload},
	} {
		b := sc.b
		w.win.Canvas().AddShortcut(&desktop.CustomShortcut{KeyName: sc.key, Modifier: mod}, func(fyne.Shortcut) { w.press(b) })
	}
	w.win.Canvas().AddShortcut(&fyne.ShortcutPaste{}, func(fyne.Shortcut) { w.press(w.paste) })
}

func (w *window) press(b *widget.Button) {
	if b.Hidden || b.Disabled() || w.win.Canvas().Overlays().Top() != nil {
		return
	}
	b.OnTapped()
}

func shortcutHelp() string {
	mod := "Ctrl+"
	if runtime.GOOS == "darwin" {
		mod = "⌘"
	}
	// Two short lines rather than a wrapping label: wrapping is measured
	// word by word, which shows in the start-up time.
	return "Keys: " + mod + "D display · " + mod + "S download · " + mod + "Delete delete\n" +
		mod + "T test · " + mod + "O upload · " + mod + "V paste a key"
}

// clearClipboardLater takes secret off the clipboard after clearAfter,
// unless the user has copied something else meanwhile.
func (w *window) clearClipboardLater(secret string) {
	w.copied = secret
	clip := w.app.Clipboard()
	time.AfterFunc(w.clearAfter, func() {
		w.do(func() {
			if clip.Content() == secret {
				clip.SetContent("")
			}
			if w.copied == secret {
				w.copied = ""
			}
		})
	})
}

// forgetPaste takes a pasted key off the clipboard once its upload has an
// outcome (stored, invalid, cancelled, failed), if the clipboard still
// holds that text: the key's JSON holds its secret.
func (w *window) forgetPaste() {
	if w.pasted == "" {
		return
	}
	if clip := w.app.Clipboard(); clip.Content() == w.pasted {
		clip.SetContent("")
	}
	w.pasted = ""
}

// onClosed takes a secret this app copied or a key it was pasted off the
// clipboard when the window closes, so it does not outlive the app there,
// stops a running test and the watcher.
func (w *window) onClosed() {
	if w.closed {
		return
	}
	w.closed = true
	close(w.stop)
	if w.copied != "" && w.app.Clipboard().Content() == w.copied {
		w.app.Clipboard().SetContent("")
	}
	w.copied = ""
	w.forgetPaste()
	if w.sec.running != nil {
		w.sec.running.cancel()
	}
}
