package ui

import (
	"context"
	"errors"
	"fmt"
	"log"
	"runtime"
	"runtime/debug"
	"sync"
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
	stStored                  // a section per stored tenant (a damaged key among them)
	stFailed                  // the keychain could not be read: w.loadErr says why
)

const (
	waitingText = "Waiting for the keychain (unlock it if your system asks)…"
	readingText = "Reading the service keys from the keychain…"
	timeLayout  = "2006-01-02 15:04"
)

// window is everything around the tenant sections: it reads the keychain
// (at start, when the key changed underneath, before an action acts),
// shows the keychain's state and the message line, takes uploads (file
// dialog, drop, paste), and owns the keyboard shortcuts and the dialogs.
type window struct {
	app      fyne.App
	win      fyne.Window
	store    *vault.Store
	testOpts almtest.Options
	history  *almtest.History // the last tests, shared with calmkeyctl; nil: none kept

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
	// testsStamp is historyStamp when the last tests were last read.
	testsStamp string
	busy       int    // id of the keychain call in flight, 0 when none
	busyMsg    string // what that call does, for the message line ("" says nothing unless slow)
	lastOp     int
	waiting    bool   // the call in flight has been slow
	news       string // what another program changed, for the message line
	copied     string // a secret on the clipboard that the app takes off again
	pasted     string // pasted text on its way to the keychain, taken off the clipboard at its outcome
	closed     bool

	// Shared with the watcher goroutine (watch.go).
	keychainBusy atomic.Bool   // a keychain call of the window's own is in flight
	watchPaused  atomic.Bool   // a check failed: wait for the foreground or Try again
	wake         chan struct{} // asks the watcher to check now
	stop         chan struct{} // closed when the window closes
	watching     bool

	// secs are the tenants' sections, sorted by tenant name; the open one
	// is what the keyboard shortcuts act on.
	secs      []*section
	testSlots chan struct{} // a token per test in flight

	content   fyne.CanvasObject
	accordion *widget.Accordion
	upload    *widget.Button
	paste     *widget.Button
	testAll   *widget.Button
	heading   *widget.Label
	message   *widget.Label
	retry     *widget.Button
	dropHint  *widget.Label
	footer    *widget.Separator
	help      *widget.Label
	version   *widget.Label

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
		history:      d.History,
		testSlots:    make(chan struct{}, testsAtOnce),
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
	w.heading = &widget.Label{Text: "SAP Cloud ALM Service Keys", TextStyle: fyne.TextStyle{Bold: true}}
	w.upload = &widget.Button{Text: "Add a tenant's key", Icon: theme.ContentAddIcon(), Importance: widget.HighImportance, OnTapped: w.onUpload}
	w.paste = &widget.Button{Text: "Paste", Icon: theme.ContentPasteIcon(), OnTapped: w.onPaste}
	w.testAll = &widget.Button{Text: "Test all", Icon: theme.LoginIcon(), OnTapped: w.onTestAll}
	w.message = &widget.Label{Wrapping: fyne.TextWrapWord}
	w.retry = &widget.Button{Text: "Try again", Icon: theme.ViewRefreshIcon(), OnTapped: w.load}
	w.dropHint = &widget.Label{
		Text:     "No service key is stored yet. Upload the key file you downloaded from the SAP BTP cockpit (Instances and Subscriptions > your SAP Cloud ALM API instance > Credentials > Download), drop it on this window, or copy its JSON and paste it. Each tenant keeps one key.",
		Wrapping: fyne.TextWrapWord,
	}
	w.help = &widget.Label{Text: shortcutHelp(), SizeName: theme.SizeNameCaptionText, Truncation: fyne.TextTruncateEllipsis}
	// The version on a line of its own: a release's ("0.1.0 (commit
	// 946432429a16)") would cut the keys' line short beside it.
	w.version = &widget.Label{SizeName: theme.SizeNameCaptionText}
	if version != "" {
		w.version.Text = "calmkey " + version
	}
	w.footer = widget.NewSeparator()
	w.accordion = widget.NewAccordion()
	top := container.NewVBox(
		container.NewBorder(nil, nil, w.heading, container.NewHBox(w.upload, w.paste, w.testAll)),
		container.NewBorder(nil, nil, nil, w.retry, w.message),
		w.dropHint,
	)
	bottom := container.NewVBox(w.footer, w.help, w.version)
	// In a VBox the accordion is as tall as its sections: collapsed ones
	// follow the open one, and the scroll starts only when they do not fit.
	w.content = container.NewBorder(top, bottom, nil, nil, container.NewVScroll(container.NewVBox(w.accordion)))
}

// corrupt reports a keychain whose keys cannot be listed because of damage
// that names no tenant: a section offers to delete it.
func (w *window) corrupt() bool {
	return len(w.secs) == 1 && w.secs[0].tenant == "" && w.secs[0].damage != nil
}

// section is the section of tenant, nil when it has none.
func (w *window) section(tenant string) *section {
	for _, sec := range w.secs {
		if sec.tenant == tenant {
			return sec
		}
	}
	return nil
}

// openSection is the section that is open, nil when all are collapsed.
func (w *window) openSection() *section {
	for _, sec := range w.secs {
		if sec.item.Open {
			return sec
		}
	}
	return nil
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
	show(w.version, !loading && w.version.Text != "")

	retitled, testing := false, false
	for _, sec := range w.secs {
		retitled = sec.render(idle) || retitled
		testing = testing || sec.running != nil
	}
	if retitled {
		w.accordion.Refresh()
	}

	// While loading nothing is offered: the actions depend on the answer.
	canAdd := w.state == stEmpty || (w.state == stStored && !w.corrupt())
	show(w.upload, !loading)
	show(w.paste, !loading)
	show(w.testAll, w.state == stStored && !w.corrupt())
	show(w.dropHint, w.state == stEmpty)
	enable(w.upload, idle && canAdd)
	enable(w.paste, idle && canAdd)
	enable(w.testAll, idle && !testing && w.state == stStored)

	switch {
	case w.waiting:
		w.setMessage(waitingText, widget.WarningImportance)
	case loading:
		w.setMessage(readingText, widget.MediumImportance)
	case !idle && w.busyMsg != "":
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
	return "The service keys could not be read: " + err.Error() + "."
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

// entry is what the keychain holds for one tenant: its key, or the damage
// that keeps it from being read. tenant is "" for damage that names no
// tenant.
type entry struct {
	tenant string
	stored *vault.Stored
	damage error
}

// loadsAtOnce bounds the keys that readAll loads at once.
const loadsAtOnce = 4

// readAll reads every tenant's key, sorted by tenant (vault's List order),
// and their last tests. A tenant deleted between the list and its load is
// left out; a damaged key is an entry with its damage. The last tests are
// a nicety: when they cannot be read the keys show without them.
func (w *window) readAll(ctx context.Context) ([]entry, almtest.LastTests, error) {
	sums, err := w.store.List(ctx)
	if errors.Is(err, vault.ErrCorrupt) {
		return []entry{{damage: err}}, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	// The keys are loaded a few at a time: each load waits on the
	// keychain's answers, which overlap.
	loaded := make([]entry, len(sums))
	errs := make([]error, len(sums))
	slots := make(chan struct{}, loadsAtOnce)
	var wg sync.WaitGroup
	for i, sum := range sums {
		if sum.Err != nil {
			loaded[i] = entry{tenant: sum.Tenant, damage: sum.Err}
			continue
		}
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			st, err := w.store.Load(ctx, sum.Tenant)
			switch {
			case errors.Is(err, vault.ErrNotFound):
			case errors.Is(err, vault.ErrCorrupt):
				loaded[i] = entry{tenant: sum.Tenant, damage: err}
			case err != nil:
				errs[i] = err
			default:
				loaded[i] = entry{tenant: sum.Tenant, stored: st}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, nil, err // the first, in tenant order
		}
	}
	var es []entry
	for _, e := range loaded {
		if e.stored != nil || e.damage != nil {
			es = append(es, e)
		}
	}
	var tests almtest.LastTests
	if w.history != nil && len(es) > 0 {
		if tests, err = w.history.Read(ctx); err != nil {
			log.Printf("calmkey: the last tests could not be read: %v", err)
		}
	}
	return es, tests, nil
}

// loaded takes the outcome of readAll: a section per entry, in order. A
// tenant's section stays (with its open state and a test that runs on the
// same key) across reads; a tenant that is gone loses its section.
func (w *window) loaded(es []entry, tests almtest.LastTests, err error) {
	if err != nil {
		w.state, w.loadErr = stFailed, err
		w.setSections(nil, nil)
		return
	}
	w.loadErr = nil
	w.state = stEmpty
	if len(es) > 0 {
		w.state = stStored
	}
	w.setSections(es, tests)
}

func (w *window) setSections(es []entry, tests almtest.LastTests) {
	old := map[string]*section{}
	for _, sec := range w.secs {
		old[sec.tenant] = sec
	}
	secs := make([]*section, 0, len(es))
	for _, e := range es {
		sec := old[e.tenant]
		if sec == nil {
			sec = newSection(w, e.tenant)
		}
		delete(old, e.tenant)
		var last *lastTest
		if e.stored != nil {
			last = tests.For(e.stored.Summary())
		}
		sec.setKey(e.stored, e.damage, last)
		secs = append(secs, sec)
	}
	for _, gone := range old {
		gone.stopTest()
	}
	w.showSections(secs)
}

// showSections makes secs the window's sections, in order. One is open:
// the one that was, else the first.
func (w *window) showSections(secs []*section) {
	open := w.openSection()
	items := make([]*widget.AccordionItem, 0, len(secs))
	for _, sec := range secs {
		items = append(items, sec.item)
	}
	w.secs = secs
	w.accordion.Items = items
	if len(secs) > 0 && (open == nil || w.section(open.tenant) == nil) {
		w.openOnly(secs[0])
	}
	w.accordion.Refresh()
}

// openOnly opens sec's section and collapses the others.
func (w *window) openOnly(sec *section) {
	for _, s := range w.secs {
		s.item.Open = s == sec
	}
	w.accordion.Refresh()
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
	// The section's buttons are those of the open section.
	inOpen := func(b func(*section) *widget.Button) func() *widget.Button {
		return func() *widget.Button {
			if sec := w.openSection(); sec != nil {
				return b(sec)
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
		{fyne.KeyD, mod, inOpen(func(s *section) *widget.Button { return s.displayButton })},
		{fyne.KeyS, mod, inOpen(func(s *section) *widget.Button { return s.downloadButton })},
		{fyne.KeyDelete, mod, inOpen(func(s *section) *widget.Button { return s.deleteButton })},
		{fyne.KeyT, mod, inOpen(func(s *section) *widget.Button { return s.testButton })},
		{fyne.KeyT, mod | fyne.KeyModifierShift, window(w.testAll)},
		{fyne.KeyO, mod, window(w.upload)},
	} {
		b := sc.b
		w.win.Canvas().AddShortcut(&desktop.CustomShortcut{KeyName: sc.key, Modifier: sc.mod}, func(fyne.Shortcut) { w.press(b()) })
	}
	w.win.Canvas().AddShortcut(&fyne.ShortcutPaste{}, func(fyne.Shortcut) { w.press(w.paste) })
}

func (w *window) press(b *widget.Button) {
	if b == nil || b.Hidden || b.Disabled() || w.win.Canvas().Overlays().Top() != nil {
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
	return "Keys for the open tenant: " + mod + "D display · " + mod + "S download · " + mod + "Delete delete · " + mod + "T test · " +
		mod + "Shift+T test all · " + mod + "O add a key · " + mod + "V paste"
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
	for _, sec := range w.secs {
		if sec.running != nil {
			sec.running.cancel()
		}
	}
}
