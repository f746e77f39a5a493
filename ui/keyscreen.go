package ui

import (
	"context"
	"errors"
	"fmt"
	"log"
	"runtime"
	"runtime/debug"
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
	stStored                  // s.stored holds the key
	stFailed                  // the keychain could not be read: s.loadErr says why
)

const (
	sectionTitle = "SAP Cloud ALM Service Key"
	waitingText  = "Waiting for the keychain (unlock it if your system asks)…"
	timeLayout   = "2006-01-02 15:04"
)

// keyScreen is the window's one screen: the accordion section with the key's
// row, its details, a running test and the last test's result.
type keyScreen struct {
	app      fyne.App
	win      fyne.Window
	store    *vault.Store
	testOpts almtest.Options

	// Seams for tests. openFile and saveFile stand for the file dialogs,
	// which have no public API to pick a file. do runs a widget update on the
	// UI goroutine: fyne.Do, except in tests, whose driver would run it on the
	// calling goroutine and race with the test.
	openFile   func(callback func(fyne.URIReadCloser, error))
	saveFile   func(name string, callback func(fyne.URIWriteCloser, error))
	do         func(func())
	runTest    func(context.Context, *vault.Key, almtest.Options) *almtest.Report
	now        func() time.Time
	slowAfter  time.Duration // until "waiting for the keychain" shows
	clearAfter time.Duration // until a copied secret leaves the clipboard

	// State, touched on the UI goroutine only.
	state   keyState
	stored  *vault.Stored
	tenant  string // of the key shown or that failed to load; "" for damage no tenant names
	loadErr error
	busy    int    // id of the keychain call in flight, 0 when none
	busyMsg string // what that call does, for the message line
	lastOp  int
	waiting bool // the call in flight has been slow
	last    *lastTest
	test    *testRun // non-nil while a test runs
	copied  string   // a secret on the clipboard that the app takes off again
	pasted  string   // the last pasted text, taken off the clipboard once stored

	content   fyne.CanvasObject
	accordion *widget.Accordion

	// The row.
	name, status                                      *widget.Label
	nameHead, statusHead, help                        *widget.Label
	footer                                            *widget.Separator
	display, download, del, testBtn, upload, paste    *widget.Button
	message                                           *widget.Label
	retry                                             *widget.Button
	dropHint                                          *widget.Label
	details                                           *widget.Form
	region, clientID, credType, apiEndpoint, uploaded *widget.Label
	certExpiry                                        *widget.Label

	// A running test.
	activity     *fyne.Container
	progress     *widget.ProgressBarInfinite
	activityText *widget.Label
	cancel       *widget.Button

	result *resultView

	// The dialog last shown of each kind, for tests to look at and answer.
	notice      *notice
	confirmDel  *deleteScreen
	uploadView  *uploadScreen
	problems    *problemsScreen
	displayView *displayScreen
}

func newKeyScreen(a fyne.App, w fyne.Window, d Deps) *keyScreen {
	s := &keyScreen{
		app:        a,
		win:        w,
		store:      d.Store,
		testOpts:   d.Test,
		do:         fyne.Do,
		runTest:    almtest.Run,
		now:        time.Now,
		slowAfter:  time.Second,
		clearAfter: 30 * time.Second,
	}
	s.openFile = func(callback func(fyne.URIReadCloser, error)) {
		fd := dialog.NewFileOpen(callback, s.win)
		fd.SetFilter(storage.NewExtensionFileFilter([]string{".txt", ".json"}))
		fd.Show()
	}
	s.saveFile = func(name string, callback func(fyne.URIWriteCloser, error)) {
		fd := dialog.NewFileSave(callback, s.win)
		fd.SetFileName(name)
		fd.Show()
	}
	s.build(d.Version)
	s.render()
	return s
}

func (s *keyScreen) build(version string) {
	s.name = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, Truncation: fyne.TextTruncateEllipsis}
	s.status = &widget.Label{Wrapping: fyne.TextWrapWord}
	s.display = &widget.Button{Text: "Display", Icon: theme.VisibilityIcon(), OnTapped: s.onDisplay}
	s.download = &widget.Button{Text: "Download", Icon: theme.DownloadIcon(), OnTapped: s.onDownload}
	s.del = &widget.Button{Text: "Delete", Icon: theme.DeleteIcon(), OnTapped: s.onDelete}
	s.testBtn = &widget.Button{Text: "Test", Icon: theme.LoginIcon(), OnTapped: s.onTest}
	s.upload = &widget.Button{Text: "Upload", Icon: theme.ContentAddIcon(), Importance: widget.HighImportance, OnTapped: s.onUpload}
	s.paste = &widget.Button{Text: "Paste", Icon: theme.ContentPasteIcon(), OnTapped: s.onPaste}
	s.message = &widget.Label{Wrapping: fyne.TextWrapWord}
	s.retry = &widget.Button{Text: "Try again", Icon: theme.ViewRefreshIcon(), OnTapped: s.load}
	s.dropHint = &widget.Label{
		Text:     "Upload the key file you downloaded from the SAP BTP cockpit (Instances and Subscriptions > your SAP Cloud ALM API instance > Credentials > Download), drop it on this window, or copy its JSON and paste it.",
		Wrapping: fyne.TextWrapWord,
	}

	s.region, s.clientID, s.credType = &widget.Label{}, &widget.Label{Truncation: fyne.TextTruncateEllipsis}, &widget.Label{}
	s.apiEndpoint = &widget.Label{Truncation: fyne.TextTruncateEllipsis}
	s.uploaded, s.certExpiry = &widget.Label{}, &widget.Label{Wrapping: fyne.TextWrapWord}
	s.details = widget.NewForm(
		widget.NewFormItem("Region", s.region),
		widget.NewFormItem("Client ID", s.clientID),
		widget.NewFormItem("Credential type", s.credType),
		widget.NewFormItem("API endpoint", s.apiEndpoint),
		widget.NewFormItem("Uploaded", s.uploaded),
		widget.NewFormItem("Certificate expiry", s.certExpiry),
	)

	s.progress = widget.NewProgressBarInfinite()
	s.activityText = widget.NewLabel("Testing the logon…")
	s.cancel = &widget.Button{Text: "Cancel", Icon: theme.CancelIcon(), OnTapped: s.onCancelTest}
	s.activity = container.NewBorder(nil, nil, s.activityText, s.cancel, s.progress)

	s.result = newResultView(s.onDelete)

	header := func(text string) *widget.Label {
		return &widget.Label{Text: text, TextStyle: fyne.TextStyle{Bold: true}, Importance: widget.LowImportance}
	}
	s.nameHead, s.statusHead = header("Name"), header("Status")
	actions := container.NewHBox(s.display, s.download, s.del, s.testBtn, s.upload, s.paste)
	row := container.NewBorder(nil, nil, nil, container.NewCenter(actions), container.NewGridWithColumns(2,
		container.NewVBox(s.nameHead, s.name),
		container.NewVBox(s.statusHead, s.status),
	))
	s.help = &widget.Label{Text: shortcutHelp(), SizeName: theme.SizeNameCaptionText}
	if version != "" {
		s.help.Text += "\ncalmkey " + version
	}
	s.footer = widget.NewSeparator()
	section := container.NewVBox(
		row,
		container.NewBorder(nil, nil, nil, s.retry, s.message),
		s.dropHint,
		s.details,
		s.activity,
		s.result.box,
		s.footer,
		s.help,
	)
	item := widget.NewAccordionItem(sectionTitle, section)
	item.Open = true
	s.accordion = widget.NewAccordion(item)
	s.content = container.NewVScroll(s.accordion)
}

// render makes the widgets show the state. Call it on the UI goroutine after
// every change.
func (s *keyScreen) render() {
	idle := s.busy == 0
	testing := s.test != nil
	stored := s.state == stStored
	corrupt := s.state == stFailed && errors.Is(s.loadErr, vault.ErrCorrupt)

	// The first frame is drawn before the window shows: while loading it
	// holds only what is needed, so the window appears sooner.
	loading := s.state == stLoading
	for _, o := range []fyne.CanvasObject{s.nameHead, s.statusHead, s.footer, s.help} {
		show(o, !loading)
	}

	switch s.state {
	case stLoading:
		s.name.SetText("Reading the keychain…")
		s.setStatus("", widget.MediumImportance)
	case stEmpty:
		s.name.SetText("No service key")
		s.setStatus("Nothing stored yet", widget.MediumImportance)
	case stStored:
		s.name.SetText(s.stored.Key.Tenant)
		s.setStatus(s.statusText())
	case stFailed:
		if corrupt {
			s.name.SetText("Damaged service key")
		} else {
			s.name.SetText("Service key unknown")
		}
		s.setStatus("Keychain problem", widget.DangerImportance)
	}

	show(s.display, stored)
	show(s.download, stored)
	show(s.del, stored || corrupt)
	show(s.testBtn, stored)
	// While loading nothing is offered: the actions depend on the answer.
	noKey := s.state == stEmpty || (s.state == stFailed && !corrupt)
	show(s.upload, noKey)
	show(s.paste, noKey)
	show(s.dropHint, s.state == stEmpty)

	enable(s.display, stored)
	enable(s.download, stored)
	enable(s.del, idle && !testing && (stored || corrupt))
	enable(s.testBtn, idle && !testing && stored)
	enable(s.upload, idle && s.state == stEmpty)
	enable(s.paste, idle && s.state == stEmpty)

	switch {
	case s.waiting:
		s.setMessage(waitingText, widget.WarningImportance)
	case !idle && s.state != stLoading: // while loading, the name says it
		s.setMessage(s.busyMsg, widget.MediumImportance)
	case s.state == stFailed:
		s.setMessage(loadFailureText(s.loadErr), widget.DangerImportance)
	default:
		s.setMessage("", widget.MediumImportance)
	}
	show(s.retry, idle && s.state == stFailed)

	if stored {
		s.fillDetails()
		s.details.Show()
	} else {
		s.details.Hide()
	}

	if testing {
		s.activity.Show()
		s.progress.Show()
		enable(s.cancel, !s.test.cancelled)
	} else {
		s.progress.Hide()
		s.activity.Hide()
	}
	if stored && s.last != nil {
		s.result.show(s.last, idle && !testing)
	} else {
		s.result.hide()
	}
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

func (s *keyScreen) setStatus(text string, imp widget.Importance) {
	s.status.Importance = imp
	s.status.SetText(text)
}

func (s *keyScreen) setMessage(text string, imp widget.Importance) {
	s.message.Importance = imp
	s.message.SetText(text)
	show(s.message, text != "")
}

func (s *keyScreen) statusText() (string, widget.Importance) {
	switch {
	case s.last == nil:
		return "not tested yet", widget.MediumImportance
	case s.last.OK:
		return "logon works (tested " + s.last.At.Local().Format(timeLayout) + ")", widget.SuccessImportance
	default:
		return "logon fails (tested " + s.last.At.Local().Format(timeLayout) + ")", widget.DangerImportance
	}
}

func (s *keyScreen) fillDetails() {
	k := s.stored.Key
	s.region.SetText(orUnknown(k.Region))
	s.clientID.SetText(k.ClientID)
	s.credType.SetText(k.CredentialTypeText())
	s.apiEndpoint.SetText(k.APIEndpoint)
	up := "unknown"
	if !s.stored.UploadedAt.IsZero() {
		up = s.stored.UploadedAt.Local().Format(timeLayout)
	}
	if s.stored.FileName != "" {
		up += " from " + s.stored.FileName
	}
	s.uploaded.SetText(up)
	text, imp := expiryText(k, s.now())
	s.certExpiry.Importance = imp
	s.certExpiry.SetText(text)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// expiryText describes when an x509 key's certificate runs out, highlighted
// when that is near: after that day the key cannot log on. The days and
// their wording are vault's, as in the format check and calmkeyctl.
func expiryText(k *vault.Key, now time.Time) (string, widget.Importance) {
	e := vault.CertExpiry(k.CertExpiry, now)
	date := e.NotAfter.Format(timeLayout)
	switch {
	case e.IsZero():
		return "none (the key logs on with a client secret, which does not expire)", widget.MediumImportance
	case e.Expired:
		return "expired on " + date + ": the key can no longer log on. Create a new key in the SAP BTP cockpit, delete this one and upload the new one.", widget.DangerImportance
	case e.Soon:
		return date + " (" + e.When() + "): create a new key in the SAP BTP cockpit before then.", widget.WarningImportance
	default:
		return date, widget.MediumImportance
	}
}

// loadFailureText says what is wrong with the keychain and what to do;
// vault's errors carry the what-to-do for the user's system.
func loadFailureText(err error) string {
	return "The service key could not be read: " + err.Error() + "."
}

// keychainFailureText is for a store or delete that failed: what happened,
// that nothing changed, and what to do.
func keychainFailureText(action string, err error) string {
	return "The service key was not " + action + ": " + err.Error() + "."
}

// load reads the stored key and shows it.
func (s *keyScreen) load() {
	if s.busy != 0 {
		return
	}
	s.state = stLoading
	var st *vault.Stored
	var tenant string
	s.keychain("Reading the service key from the keychain…", func(ctx context.Context) error {
		var err error
		st, tenant, err = firstKey(ctx, s.store)
		return err
	}, func(err error) { s.tenant = tenant; s.loaded(st, err) })
}

// firstKey loads the key of the first tenant by name: until the window has
// a section per tenant, it shows one. tenant is the one it tried, "" when
// nothing is stored or the keychain holds damage that no tenant names.
func firstKey(ctx context.Context, store *vault.Store) (st *vault.Stored, tenant string, err error) {
	sums, err := store.List(ctx)
	if err != nil {
		return nil, "", err
	}
	if len(sums) == 0 {
		return nil, "", vault.ErrNotFound
	}
	tenant = sums[0].Tenant
	st, err = store.Load(ctx, tenant)
	return st, tenant, err
}

// loaded takes the outcome of a Load.
func (s *keyScreen) loaded(st *vault.Stored, err error) {
	switch {
	case err == nil && st != nil && st.Key != nil:
		s.state, s.stored, s.loadErr = stStored, st, nil
		s.last = s.loadLastTest(st)
	case errors.Is(err, vault.ErrNotFound) || (err == nil):
		s.state, s.stored, s.loadErr, s.last = stEmpty, nil, nil, nil
	default:
		s.state, s.stored, s.loadErr, s.last = stFailed, nil, err, nil
	}
}

// keychain runs op away from the UI goroutine: a keychain can take long to
// answer (a locked collection, an unlock prompt, a missing daemon). When op
// is slow, the window says it waits for the keychain. done runs on the UI
// goroutine, then the window renders.
func (s *keyScreen) keychain(msg string, op func(ctx context.Context) error, done func(error)) {
	s.lastOp++
	id := s.lastOp
	s.busy, s.busyMsg, s.waiting = id, msg, false
	s.render()
	slow := time.AfterFunc(s.slowAfter, func() {
		s.do(func() {
			if s.busy == id {
				s.waiting = true
				s.render()
			}
		})
	})
	go func() {
		err := safely("using the keychain", func() error { return op(context.Background()) })
		slow.Stop()
		s.do(func() {
			s.busy, s.busyMsg, s.waiting = 0, "", false
			done(err)
			s.render()
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

// notice is an information or error dialog.
type notice struct {
	title, text string
	isError     bool
	dialog      dialog.Dialog
}

func (s *keyScreen) tell(title, text string) {
	s.notice = &notice{title: title, text: text, dialog: dialog.NewInformation(title, text, s.win)}
	s.notice.dialog.Show()
}

func (s *keyScreen) warn(title, text string) {
	d := dialog.NewCustom(title, "OK", wrapped(text), s.win)
	d.SetIcon(theme.WarningIcon())
	s.notice = &notice{title: title, text: text, isError: true, dialog: d}
	d.Show()
	d.Resize(fyne.NewSize(480, d.MinSize().Height))
}

func wrapped(text string) *widget.Label {
	return &widget.Label{Text: text, Wrapping: fyne.TextWrapWord}
}

// Keyboard shortcuts. Each works only where its button is offered, and not
// while a dialog is open, so a key press never acts behind a dialog.
func (s *keyScreen) addShortcuts() {
	mod := fyne.KeyModifierShortcutDefault
	for _, sc := range []struct {
		key fyne.KeyName
		b   *widget.Button
	}{
		{fyne.KeyD, s.display},
		{fyne.KeyS, s.download},
		{fyne.KeyDelete, s.del},
		{fyne.KeyT, s.testBtn},
		{fyne.KeyO, s.upload},
	} {
		b := sc.b
		s.win.Canvas().AddShortcut(&desktop.CustomShortcut{KeyName: sc.key, Modifier: mod}, func(fyne.Shortcut) { s.press(b) })
	}
	s.win.Canvas().AddShortcut(&fyne.ShortcutPaste{}, func(fyne.Shortcut) { s.press(s.paste) })
}

func (s *keyScreen) press(b *widget.Button) {
	if b.Hidden || b.Disabled() || s.win.Canvas().Overlays().Top() != nil {
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
func (s *keyScreen) clearClipboardLater(secret string) {
	s.copied = secret
	clip := s.app.Clipboard()
	time.AfterFunc(s.clearAfter, func() {
		s.do(func() {
			if clip.Content() == secret {
				clip.SetContent("")
			}
			if s.copied == secret {
				s.copied = ""
			}
		})
	})
}

// onClosed takes a secret this app copied off the clipboard when the window
// closes, so it does not outlive the app there.
func (s *keyScreen) onClosed() {
	if s.copied != "" && s.app.Clipboard().Content() == s.copied {
		s.app.Clipboard().SetContent("")
	}
	s.copied = ""
	if s.test != nil {
		s.test.cancel()
	}
}
