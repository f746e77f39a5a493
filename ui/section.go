package ui

import (
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

	stored  *vault.Stored // the key shown; nil when none
	last    *lastTest     // its last test's outcome; nil when not tested
	running *testRun      // non-nil while its test runs

	// The row.
	row                                                     fyne.CanvasObject
	name, status, nameHead, statusHead                      *widget.Label
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

	// The last test's result.
	result *resultView
}

func newSection(w *window) *section {
	sec := &section{w: w}
	sec.name = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, Truncation: fyne.TextTruncateEllipsis}
	sec.status = &widget.Label{Wrapping: fyne.TextWrapWord}
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

	header := func(text string) *widget.Label {
		return &widget.Label{Text: text, TextStyle: fyne.TextStyle{Bold: true}, Importance: widget.LowImportance}
	}
	sec.nameHead, sec.statusHead = header("Name"), header("Status")
	sec.actions = container.NewHBox(sec.displayButton, sec.downloadButton, sec.deleteButton, sec.testButton)
	sec.row = container.NewBorder(nil, nil, nil, container.NewCenter(sec.actions), container.NewGridWithColumns(2,
		container.NewVBox(sec.nameHead, sec.name),
		container.NewVBox(sec.statusHead, sec.status),
	))
	return sec
}

// setKey makes the section show st (nil: no key). Another key than the one
// shown ends its running test, whose result would be about the old key,
// and brings the new key's remembered result.
func (sec *section) setKey(st *vault.Stored) {
	if sameKey(sec.stored, st) && sec.stored != nil {
		sec.stored = st
		return
	}
	if sec.running != nil {
		sec.running.cancelled = true
		sec.running.cancel()
		sec.running = nil
	}
	sec.stored, sec.last = st, nil
	if st != nil {
		sec.last = sec.w.loadLastTest(st)
	}
}

// render makes the section's widgets show its key in the window's state:
// state and corrupt are the keychain's, idle is false while a keychain call
// is in flight.
func (sec *section) render(state keyState, corrupt, idle bool) {
	testing := sec.running != nil
	stored := state == stStored

	show(sec.nameHead, state != stLoading)
	show(sec.statusHead, state != stLoading)
	switch state {
	case stLoading:
		sec.name.SetText("Reading the keychain…")
		sec.setStatus("", widget.MediumImportance)
	case stEmpty:
		sec.name.SetText("No service key")
		sec.setStatus("Nothing stored yet", widget.MediumImportance)
	case stStored:
		sec.name.SetText(sec.stored.Key.Tenant)
		sec.setStatus(sec.statusText())
	case stFailed:
		if corrupt {
			sec.name.SetText("Damaged service key")
		} else {
			sec.name.SetText("Service key unknown")
		}
		sec.setStatus("Keychain problem", widget.DangerImportance)
	}

	show(sec.displayButton, stored)
	show(sec.downloadButton, stored)
	show(sec.deleteButton, stored || corrupt)
	show(sec.testButton, stored)
	enable(sec.displayButton, stored)
	enable(sec.downloadButton, stored)
	enable(sec.deleteButton, idle && !testing && (stored || corrupt))
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
	case sec.last.OK:
		return sec.last.report().Outcome() + " (tested " + sec.last.At.Local().Format(timeLayout) + ")", widget.SuccessImportance
	default:
		return sec.last.report().Outcome() + " (tested " + sec.last.At.Local().Format(timeLayout) + ")", widget.DangerImportance
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
