package ui

import (
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/calmkey/calmkey/vault"
)

// section is one tenant's part of the window: the row with the tenant's
// name, status and actions, the key's facts, a running test and the last
// test's result. It shows one stored key (or the damage in its place) and
// the state of that key's test. It knows nothing of the window: its
// buttons call the actions it was given, and the window tells it what is
// stored (setKey) and when to draw (render).
type section struct {
	tenant  string        // "" for damage that names no tenant (a damaged index or old-layout key)
	stored  *vault.Stored // the key shown; nil when damaged
	damage  error         // why the tenant's key cannot be read (matches vault.ErrCorrupt); nil when stored
	last    *lastTest     // its last test's outcome; nil when not tested
	running *testRun      // non-nil while its test runs
	// badName says why the tenant's name is not a valid tenant name (see
	// vault.TenantNameError): a key stored under it by an earlier calmkey
	// may sit beside the real tenant's, looking the same. nil when valid.
	badName error
	now     func() time.Time

	item     *widget.AccordionItem
	row      *sectionRow
	facts    *factsForm
	activity *testActivity
	result   *resultView
	// note says what went wrong with this tenant's test or key (a test
	// that could not run, say).
	note *widget.Label
	// rotation is Replace… and the key's last replacement (replace.go).
	rotation *rotationLine
}

// sectionActions are what a section's buttons do, given the section.
type sectionActions struct {
	display, download, delete, test, replace func(*section)
}

// sectionFacts are the facts a section shows: not the tenant, which its
// title and row show, nor the token URL, so that the open section's last
// test fits the window's default size.
var sectionFacts = []string{vault.FactRegion, vault.FactClientID, vault.FactCredentialType, vault.FactAPIEndpoint, vault.FactUploaded, vault.FactCertExpiry}

func newSection(tenant string, now func() time.Time, acts sectionActions) *section {
	sec := &section{tenant: tenant, now: now, badName: tenantNameError(tenant)}
	on := func(act func(*section)) func() { return func() { act(sec) } }
	sec.row = newSectionRow(on(acts.display), on(acts.download), on(acts.delete), on(acts.test))
	sec.facts = newFactsForm(sectionFacts...)
	sec.rotation = newRotationLine(sec.facts, on(acts.replace))
	sec.activity = newTestActivity(sec.onCancelTest)
	sec.result = newResultView(on(acts.delete))
	sec.note = &widget.Label{Wrapping: fyne.TextWrapWord, Importance: widget.DangerImportance}
	sec.note.Hide()
	body := container.NewVBox(sec.row.box, sec.note, sec.facts.form, sec.rotation.box, sec.activity.box, sec.result.box)
	sec.item = widget.NewAccordionItem(sec.title(), body)
	return sec
}

// tenantNameError is vault.TenantNameError, except for "", the damage
// that names no tenant.
func tenantNameError(tenant string) error {
	if tenant == "" {
		return nil
	}
	return vault.TenantNameError(tenant)
}

// sectionRow is the row at the top of a section: the tenant's whole name
// (the title cuts a long one) and its status, the actions beside them.
type sectionRow struct {
	name, status                                            *widget.Label
	displayButton, downloadButton, deleteButton, testButton *widget.Button
	box                                                     fyne.CanvasObject
}

func newSectionRow(onDisplay, onDownload, onDelete, onTest func()) *sectionRow {
	r := &sectionRow{
		name:           &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, Truncation: fyne.TextTruncateEllipsis},
		status:         &widget.Label{Truncation: fyne.TextTruncateEllipsis},
		displayButton:  &widget.Button{Text: lang.X("window.button.display", "Display"), Icon: theme.VisibilityIcon(), OnTapped: onDisplay},
		downloadButton: &widget.Button{Text: lang.X("window.button.download", "Download"), Icon: theme.DownloadIcon(), OnTapped: onDownload},
		deleteButton:   &widget.Button{Text: lang.X("window.button.delete", "Delete"), Icon: theme.DeleteIcon(), OnTapped: onDelete},
		testButton:     &widget.Button{Text: lang.X("window.button.test", "Test"), Icon: theme.LoginIcon(), OnTapped: onTest},
	}
	actions := container.NewHBox(r.displayButton, r.downloadButton, r.deleteButton, r.testButton)
	r.box = container.NewBorder(nil, nil, nil, container.NewCenter(actions), container.NewVBox(r.name, r.status))
	return r
}

func (r *sectionRow) setStatus(text string, imp widget.Importance) {
	r.status.Importance = imp
	r.status.SetText(text)
}

// render offers the actions: those on the key only while one is stored,
// none that changes it while a keychain call or its test is in flight.
func (r *sectionRow) render(stored, idle, testing bool) {
	show(r.displayButton, stored)
	show(r.downloadButton, stored)
	show(r.testButton, stored)
	enable(r.displayButton, stored)
	enable(r.downloadButton, stored)
	enable(r.deleteButton, idle && !testing)
	enable(r.testButton, idle && !testing && stored)
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
	sec.setLast(last)
}

// setLast takes the key's last test as the shared record holds it. With
// none there, a result the section shows of the same key stays (a test
// that ran here but could not be recorded).
func (sec *section) setLast(last *lastTest) {
	st := sec.stored
	switch {
	case st == nil:
		sec.last = nil
	case last != nil && last.Of(st.Summary()):
		sec.last = last
	case sec.last != nil && !sec.last.Of(st.Summary()):
		sec.last = nil
	}
}

// sameKey is vault's one "same key" decision. Two damaged keys (nil) count
// as the same: the damage message stands.
func sameKey(a, b *vault.Stored) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Identity().Same(b.Identity())
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
		sec.row.name.SetText(vault.Printable(sec.tenant))
		sec.row.setStatus(sec.statusText())
	case sec.tenant == "":
		sec.row.name.SetText(lang.X("window.section.damaged", "Damaged service key"))
		sec.row.setStatus(lang.X("window.section.keychainProblem", "Keychain problem: {{.Error}}", map[string]any{"Error": errText(sec.damage)}), widget.DangerImportance)
	default:
		sec.row.name.SetText(vault.Printable(sec.tenant))
		sec.row.setStatus(lang.X("window.section.damagedStatus", "Damaged service key: delete it and upload the key file again"), widget.DangerImportance)
	}
	sec.row.render(stored, idle, testing)

	if stored {
		sec.facts.set(sec.stored.Summary(), sec.now())
		sec.facts.form.Show()
	} else {
		sec.facts.form.Hide()
	}
	sec.rotation.render(stored, idle && !testing)
	sec.activity.render(sec.running)
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

// badNameTitle flags, in a section's title, a key stored under a name that
// is not a valid tenant name.
func badNameTitle() string { return lang.X("window.title.badName", "not a valid tenant name") }

// title is what the section's header says, open or collapsed: the tenant
// and its state at a glance (logon works or fails, not tested, testing,
// the certificate's expiry when it is near, a name that is not a valid
// tenant name).
func (sec *section) title() string {
	name := shortName(sec.tenant)
	if sec.stored == nil {
		if sec.tenant == "" {
			return lang.X("window.title.damaged", "Damaged service key — delete it")
		}
		return lang.X("window.title.damagedTenant", "{{.Tenant}} — damaged key: delete it", map[string]any{"Tenant": name})
	}
	parts := []string{}
	if sec.badName != nil {
		parts = append(parts, badNameTitle())
	}
	switch {
	case sec.running != nil:
		parts = append(parts, lang.X("window.title.testing", "testing…"))
	case sec.last == nil:
		parts = append(parts, lang.X("window.title.notTested", "not tested"))
	default:
		parts = append(parts, shortOutcome(sec.last.Report)+" ("+formatTime(sec.last.At())+")")
	}
	switch e := vault.CertExpiry(sec.stored.Key.CertExpiry, sec.now()); {
	case e.Expired:
		parts = append(parts, lang.X("window.title.certExpired", "certificate expired"))
	case e.Soon:
		parts = append(parts, lang.X("window.title.certExpires", "certificate expires {{.When}}", map[string]any{"When": expiryWhen(e)}))
	}
	return name + " — " + strings.Join(parts, " · ")
}

// statusText is the row's status: the last test's outcome in almtest's
// words, and when it ran; first, a name that is not a valid tenant name.
func (sec *section) statusText() (string, widget.Importance) {
	switch {
	case sec.badName != nil:
		return lang.X("window.status.badName", "Not a valid tenant name, perhaps a look-alike of another: delete this key"), widget.WarningImportance
	case sec.last == nil:
		return lang.X("window.status.notTested", "Not tested yet"), widget.MediumImportance
	}
	text := lang.X("window.status.tested", "{{.Outcome}} (tested {{.Time}})", map[string]any{"Outcome": outcomeWords(sec.last.Report), "Time": formatTime(sec.last.At())})
	if sec.last.Report.OK {
		return text, widget.SuccessImportance
	}
	return text, widget.DangerImportance
}

// factsForm shows vault.Facts as they are, one row per fact asked for,
// with what to do when the certificate's expiry is near.
type factsForm struct {
	form   *widget.Form
	labels map[string]*widget.Label
}

func newFactsForm(ids ...string) *factsForm {
	f := &factsForm{form: widget.NewForm(), labels: map[string]*widget.Label{}}
	for _, id := range ids {
		l := &widget.Label{}
		switch id {
		case vault.FactTenant:
			l.TextStyle = fyne.TextStyle{Bold: true}
		case vault.FactClientID, vault.FactAPIEndpoint, vault.FactTokenURL:
			l.Truncation = fyne.TextTruncateEllipsis
		case vault.FactCredentialType, vault.FactCertExpiry:
			l.Wrapping = fyne.TextWrapWord
		}
		f.labels[id] = l
		f.form.Append(factLabel(id), l)
	}
	return f
}

// label is the value of fact id; nil when the form does not show it.
func (f *factsForm) label(id string) *widget.Label { return f.labels[id] }

func (f *factsForm) set(s vault.Summary, now time.Time) {
	for _, fact := range vault.Facts(s, now) {
		l := f.labels[fact.ID]
		if l == nil {
			continue
		}
		text, imp := factValue(fact, s, now), widget.MediumImportance
		if fact.ID == vault.FactCertExpiry {
			text, imp = expiryAdvice(text, vault.CertExpiry(s.CertExpiry, now))
		}
		if l.Text != text || l.Importance != imp {
			l.Importance = imp
			l.SetText(text)
		}
	}
}

// expiryAdvice adds to vault's words for an x509 key's certificate expiry
// what to do when that is near: after that day the key cannot log on.
func expiryAdvice(words string, e vault.Expiry) (string, widget.Importance) {
	switch {
	case e.IsZero():
		return words, widget.MediumImportance
	case e.Expired:
		return lang.X("window.expiry.expiredAdvice", "{{.Expiry}}: the key can no longer log on. Create a new key in the {{.Cockpit}}, delete this one and upload the new one.",
			map[string]any{"Expiry": words, "Cockpit": cockpitPath()}), widget.DangerImportance
	case e.Soon:
		return lang.X("window.expiry.soonAdvice", "{{.Expiry}}: create a new key in the {{.Cockpit}} before then.",
			map[string]any{"Expiry": words, "Cockpit": cockpitPath()}), widget.WarningImportance
	default:
		return words, widget.MediumImportance
	}
}

// testActivity shows a running test: what it does, a progress bar and
// Cancel.
type testActivity struct {
	text     *widget.Label
	progress *widget.ProgressBarInfinite
	cancel   *widget.Button
	box      *fyne.Container
}

func newTestActivity(onCancel func()) *testActivity {
	a := &testActivity{
		text:     widget.NewLabel(lang.X("window.test.testing", "Testing the logon…")),
		progress: widget.NewProgressBarInfinite(),
		cancel:   &widget.Button{Text: lang.X("window.button.cancel", "Cancel"), Icon: theme.CancelIcon(), OnTapped: onCancel},
	}
	a.box = container.NewBorder(nil, nil, a.text, a.cancel, a.progress)
	return a
}

func (a *testActivity) render(run *testRun) {
	if run == nil {
		a.progress.Hide()
		a.box.Hide()
		return
	}
	a.box.Show()
	a.progress.Show()
	enable(a.cancel, !run.cancelled)
}
