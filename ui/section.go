package ui

import (
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/calmkey/calmkey/vault"
)

// section is one tenant's part of the window: the row with the tenant's
// name, status and actions, the key's details, a running test and the last
// test's result. It shows one stored key (or, while none is, what the
// window says in its place) and runs that key's test. The window around it
// reads the keychain, owns the dialogs and the message line, and tells the
// section what is stored (setKey) and what state the keychain is in
// (render).
type section struct {
	w *window

	tenant  string        // "" for damage that names no tenant (a damaged index or old-layout key)
	stored  *vault.Stored // the key shown; nil when damaged
	damage  error         // why the tenant's key cannot be read (matches vault.ErrCorrupt); nil when stored
	last    *lastTest     // its last test's outcome; nil when not tested
	running *testRun      // non-nil while its test runs

	item *widget.AccordionItem

	// The row.
	row                                                     fyne.CanvasObject
	name, status                                            *widget.Label
	actions                                                 *fyne.Container
	displayButton, downloadButton, deleteButton, testButton *widget.Button

	// The details.
	details                                                       *widget.Form
	region, clientID, credType, apiEndpoint, uploaded, certExpiry *widget.Label

	// A running test.
	activity     *fyne.Container
	progress     *widget.ProgressBarInfinite
	activityText *widget.Label
	cancelTest   *widget.Button

	// The last test's result, and a line for what went wrong with this
	// tenant's test or key (a test that could not run, say).
	result *resultView
	note   *widget.Label
}

func newSection(w *window, tenant string) *section {
	sec := &section{w: w, tenant: tenant}
	sec.name = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, Truncation: fyne.TextTruncateEllipsis}
	sec.status = &widget.Label{Truncation: fyne.TextTruncateEllipsis}
	sec.displayButton = &widget.Button{Text: "Display", Icon: theme.VisibilityIcon(), OnTapped: sec.onDisplay}
	sec.downloadButton = &widget.Button{Text: "Download", Icon: theme.DownloadIcon(), OnTapped: sec.onDownload}
	sec.deleteButton = &widget.Button{Text: "Delete", Icon: theme.DeleteIcon(), OnTapped: sec.onDelete}
	sec.testButton = &widget.Button{Text: "Test", Icon: theme.LoginIcon(), OnTapped: sec.onTest}

	sec.region, sec.clientID, sec.credType = &widget.Label{}, &widget.Label{Truncation: fyne.TextTruncateEllipsis}, &widget.Label{Wrapping: fyne.TextWrapWord}
	sec.apiEndpoint = &widget.Label{Truncation: fyne.TextTruncateEllipsis}
	sec.uploaded, sec.certExpiry = &widget.Label{}, &widget.Label{Wrapping: fyne.TextWrapWord}
	sec.details = widget.NewForm(
		widget.NewFormItem("Region", sec.region),
		widget.NewFormItem("Client ID", sec.clientID),
		widget.NewFormItem("Credential type", sec.credType),
		widget.NewFormItem("API endpoint", sec.apiEndpoint),
		widget.NewFormItem("Uploaded", sec.uploaded),
		widget.NewFormItem("Certificate expiry", sec.certExpiry),
	)

	sec.progress = widget.NewProgressBarInfinite()
	sec.activityText = widget.NewLabel("Testing the logon…")
	sec.cancelTest = &widget.Button{Text: "Cancel", Icon: theme.CancelIcon(), OnTapped: sec.onCancelTest}
	sec.activity = container.NewBorder(nil, nil, sec.activityText, sec.cancelTest, sec.progress)

	sec.result = newResultView(sec.onDelete)
	sec.note = &widget.Label{Wrapping: fyne.TextWrapWord, Importance: widget.DangerImportance}
	sec.note.Hide()

	// The row: the tenant's whole name (the title cuts a long one) and its
	// status, the actions beside them.
	sec.actions = container.NewHBox(sec.displayButton, sec.downloadButton, sec.deleteButton, sec.testButton)
	sec.row = container.NewBorder(nil, nil, nil, container.NewCenter(sec.actions), container.NewVBox(sec.name, sec.status))
	body := container.NewVBox(sec.row, sec.note, sec.details, sec.activity, sec.result.box)
	sec.item = widget.NewAccordionItem(sec.title(), body)
	return sec
}

// setKey makes the section show e: its key, or the damage that keeps it
// from being read. Another key than the one shown ends its running test,
// whose result would be about the old key. last is the key's last test as
// the shared record holds it (nil: none, or the record could not be read).
func (sec *section) setKey(st *vault.Stored, damage error, last *lastTest) {
	if !sameKey(sec.stored, st) || (sec.damage == nil) != (damage == nil) {
		sec.stopTest()
		sec.note.Hide()
	}
	sec.stored, sec.damage = st, damage
	switch {
	case st == nil:
		sec.last = nil
	case last != nil && last.Of(st.Summary()):
		sec.last = last
	case sec.last != nil && !sec.last.Of(st.Summary()):
		sec.last = nil
	}
}

// stopTest ends a running test, whose result would be about a key that is
// no longer the one shown.
func (sec *section) stopTest() {
	if sec.running != nil {
		sec.running.cancelled = true
		sec.running.cancel()
		sec.running = nil
	}
}

// render makes the section's widgets show its key; idle is false while a
// keychain call of the window's is in flight. It reports whether the
// section's title changed, for the window to redraw the accordion once.
func (sec *section) render(idle bool) (retitled bool) {
	testing := sec.running != nil
	stored := sec.stored != nil

	switch {
	case stored:
		sec.name.SetText(vault.Printable(sec.tenant))
		sec.setStatus(sec.statusText())
	case sec.tenant == "":
		sec.name.SetText("Damaged service key")
		sec.setStatus("Keychain problem: "+sec.damage.Error(), widget.DangerImportance)
	default:
		sec.name.SetText(vault.Printable(sec.tenant))
		sec.setStatus("Damaged service key: delete it and upload the key file again", widget.DangerImportance)
	}

	show(sec.displayButton, stored)
	show(sec.downloadButton, stored)
	show(sec.testButton, stored)
	enable(sec.displayButton, stored)
	enable(sec.downloadButton, stored)
	enable(sec.deleteButton, idle && !testing)
	enable(sec.testButton, idle && !testing && stored)

	if stored {
		sec.fillDetails()
		sec.details.Show()
	} else {
		sec.details.Hide()
	}

	if testing {
		sec.activity.Show()
		sec.progress.Show()
		enable(sec.cancelTest, !sec.running.cancelled)
	} else {
		sec.progress.Hide()
		sec.activity.Hide()
	}
	if stored && sec.last != nil {
		sec.result.show(sec.last, idle && !testing)
	} else {
		sec.result.hide()
	}
	if t := sec.title(); sec.item.Title != t {
		sec.item.Title = t
		return true
	}
	return false
}

// titleMost is the most characters of a tenant's name that a section's
// title shows: the title is one line, and the window must not grow to fit
// a name of hundreds of characters. The row below shows the whole name
// (cut with an ellipsis to the window's width).
const titleMost = 48

// shortName is the tenant's name for a title: printable, and cut to
// titleMost characters.
func shortName(tenant string) string {
	name := vault.Printable(tenant)
	if r := []rune(name); len(r) > titleMost {
		name = string(r[:titleMost-1]) + "…"
	}
	return name
}

// title is what the section's header says, open or collapsed: the tenant
// and its state at a glance (logon works or fails, not tested, testing,
// the certificate's expiry when it is near).
func (sec *section) title() string {
	name := shortName(sec.tenant)
	if sec.stored == nil {
		if sec.tenant == "" {
			return "Damaged service key — delete it"
		}
		return name + " — damaged key: delete it"
	}
	parts := []string{}
	switch {
	case sec.running != nil:
		parts = append(parts, "testing…")
	case sec.last == nil:
		parts = append(parts, "not tested")
	default:
		parts = append(parts, sec.last.Report.Short()+" ("+sec.last.At().Local().Format(timeLayout)+")")
	}
	switch e := vault.CertExpiry(sec.stored.Key.CertExpiry, sec.w.now()); {
	case e.Expired:
		parts = append(parts, "certificate expired")
	case e.Soon:
		parts = append(parts, "certificate expires "+e.When())
	}
	return name + " — " + strings.Join(parts, " · ")
}

func (sec *section) setStatus(text string, imp widget.Importance) {
	sec.status.Importance = imp
	sec.status.SetText(text)
}

// statusText is the row's status: the last test's outcome in almtest's
// words, and when it ran.
func (sec *section) statusText() (string, widget.Importance) {
	switch {
	case sec.last == nil:
		return "Not tested yet", widget.MediumImportance
	case sec.last.Report.OK:
		return sec.last.Report.Outcome() + " (tested " + sec.last.At().Local().Format(timeLayout) + ")", widget.SuccessImportance
	default:
		return sec.last.Report.Outcome() + " (tested " + sec.last.At().Local().Format(timeLayout) + ")", widget.DangerImportance
	}
}

func (sec *section) fillDetails() {
	st := sec.stored
	k := st.Key
	sec.region.SetText(orUnknown(k.Region))
	sec.clientID.SetText(k.ClientID)
	sec.credType.SetText(k.CredentialTypeText())
	sec.apiEndpoint.SetText(k.APIEndpoint)
	up := "unknown"
	if !st.UploadedAt.IsZero() {
		up = st.UploadedAt.Local().Format(timeLayout)
	}
	if st.FileName != "" {
		up += " from " + st.FileName
	}
	sec.uploaded.SetText(up)
	text, imp := expiryText(k, sec.w.now())
	sec.certExpiry.Importance = imp
	sec.certExpiry.SetText(text)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// expiryText describes when an x509 key's certificate runs out, in vault's
// words (as in the format check and calmkeyctl), with what to do when that
// is near: after that day the key cannot log on.
func expiryText(k *vault.Key, now time.Time) (string, widget.Importance) {
	e := vault.CertExpiry(k.CertExpiry, now)
	words := e.Words(timeLayout)
	switch {
	case e.IsZero():
		return words, widget.MediumImportance
	case e.Expired:
		return words + ": the key can no longer log on. Create a new key in the SAP BTP cockpit, delete this one and upload the new one.", widget.DangerImportance
	case e.Soon:
		return words + ": create a new key in the SAP BTP cockpit before then.", widget.WarningImportance
	default:
		return words, widget.MediumImportance
	}
}
