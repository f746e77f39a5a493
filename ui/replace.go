package ui

// Replace…: a tenant's key gives way to a new one without a moment with no
// key. The rules are calmkeyctl replace's, in its order: the format check;
// the same tenant; not the stored key itself ("already stored"); a test of
// the new key (token, then API) before anything is stored, whose diagnosis
// shows when it fails, with nothing changed; then vault's swap under the
// keychain lock, and the record of the replacement with the test that let
// the new key in as the tenant's last test.

import (
	"context"
	"errors"
	"io"
	"log"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/vault"
)

// rotationLine is Replace…, beside the key's upload time among the
// section's facts (a replacement is the next upload; the row of actions
// above has no room left for a fifth button in German), and the line under
// the facts that says the key's last replacement ("Replaced 2026-12-03
// 10:00, was sb-…"), shown only after one.
type rotationLine struct {
	replaced *almtest.Replacement // the stored key's replacement; nil: not put in by one
	label    *widget.Label
	button   *widget.Button
	box      *fyne.Container
}

func newRotationLine(facts *factsForm, onReplace func()) *rotationLine {
	l := &rotationLine{
		label:  &widget.Label{Truncation: fyne.TextTruncateEllipsis},
		button: &widget.Button{Text: lang.X("rotation.replace.button", "Replace…"), Icon: theme.ViewRefreshIcon(), OnTapped: onReplace},
	}
	// A form draws its items as they were when first refreshed: a new
	// form takes them with the button beside the upload time. Call this
	// before the form is laid out.
	uploaded := facts.label(vault.FactUploaded)
	for _, item := range facts.form.Items {
		if item.Widget == uploaded {
			item.Widget = container.NewBorder(nil, nil, nil, l.button, uploaded)
		}
	}
	facts.form = widget.NewForm(facts.form.Items...)
	l.box = container.NewStack(l.label)
	return l
}

// render offers Replace… while a key is stored, usable when no keychain
// call or test is in flight.
func (l *rotationLine) render(stored, usable bool) {
	show(l.button, stored)
	enable(l.button, usable)
	text := ""
	if stored && l.replaced != nil {
		text = lang.X("rotation.section.replaced", "Replaced {{.Time}}, was {{.ClientID}}", map[string]any{
			"Time": formatTime(l.replaced.At), "ClientID": l.replaced.OldClientID,
		})
	}
	if l.label.Text != text {
		l.label.SetText(text)
	}
	show(l.box, text != "")
}

// readReplaced reads the recorded replacements; when they cannot be read,
// the keys show without them.
func (w *window) readReplaced(ctx context.Context) almtest.Replacements {
	if w.history == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, historyWithin)
	defer cancel()
	rs, err := w.history.Replacements(ctx)
	if err != nil {
		log.Printf("calmkey: the replacements of keys could not be read: %v", err)
	}
	return rs
}

// setReplaced gives each section its key's last replacement.
func (l *sectionList) setReplaced(rs almtest.Replacements) {
	for _, sec := range l.all {
		sec.rotation.replaced = nil
		if sec.stored != nil {
			sec.rotation.replaced = rs.Last(sec.stored.Summary())
		}
	}
}

// replaceDialog is the replacement in progress: the question before the
// test, and the diagnosis when the new key did not log on.
type replaceDialog struct {
	tenant string
	// old is the stored key the user was shown: the swap replaces only
	// that one (another program's key put in meanwhile stays: ErrChanged).
	old      vault.Identity
	key      *vault.Key // the new key
	facts    *factsForm
	question *widget.Label
	confirm  *dialog.ConfirmDialog
	open     bool
	// failed is the failed test's report, shown in result; nil before.
	failed *almtest.Report
	result dialog.Dialog
}

// onReplace reads the keychain again, then asks for the new key's file:
// a key replaced or deleted underneath is never replaced from here.
func (w *window) onReplace(sec *section) {
	if sec.running != nil || !w.busy.idle() || sec.stored == nil {
		return
	}
	w.whenFresh(sec, lang.X("rotation.replace.undone", "Nothing was replaced."), func() {
		title := lang.X("rotation.replace.pickTitle", "Choose the new service key of tenant {{.Tenant}}", map[string]any{"Tenant": vault.Printable(sec.tenant)})
		w.openKeyFileAs(title, func(r fyne.URIReadCloser, err error) {
			switch {
			case err != nil:
				w.dialogs.warn(lang.X("rotation.replace.openFailed.title", "The file could not be opened"),
					lang.X("rotation.replace.openFailed", "Nothing was replaced: {{.Error}}. Choose the new key file (.txt or .json) you downloaded from the SAP BTP cockpit.", map[string]any{"Error": err.Error()}))
			case r != nil:
				w.readReplacement(sec, r.URI().Name(), func() (io.ReadCloser, error) { return r, nil })
			}
		})
	})
}

// readReplacement reads and checks the new key away from the UI goroutine
// (a file may sit on a slow share), as an upload does, then checks it
// against sec's key.
func (w *window) readReplacement(sec *section, name string, open func() (io.ReadCloser, error)) {
	go func() {
		key, readErr, parseErr, err := readKey(open)
		w.do(func() {
			switch {
			case err != nil:
				w.dialogs.warn(lang.X("rotation.replace.notChecked.title", "The key was not checked"),
					lang.X("rotation.replace.notChecked", "{{.Error}}. Nothing was replaced.", map[string]any{"Error": err.Error()}))
			case readErr != nil:
				w.dialogs.warn(lang.X("rotation.replace.readFailed.title", "The file could not be read"),
					lang.X("rotation.replace.readFailed", "Nothing was replaced: {{.Error}}. Choose the new key file (.txt or .json) you downloaded from the SAP BTP cockpit.", map[string]any{"Error": readErr.Error()}))
			case parseErr != nil:
				w.showProblems(name, parseErr)
			default:
				w.offerReplace(sec, key, name, false)
			}
		})
	}()
}

// offerReplaceOnUpload is for an upload whose tenant already has a key:
// only one is kept for a tenant, so the window offers to replace it.
func (w *window) offerReplaceOnUpload(sec *section, key *vault.Key, name string) {
	w.secs.openOnly(sec)
	w.offerReplace(sec, key, name, true)
}

// offerReplace checks key against sec's stored key (the same tenant, not
// the same key) and asks whether to test it and replace: from Replace…,
// and from an upload whose tenant already has a key (uploaded).
func (w *window) offerReplace(sec *section, key *vault.Key, name string, uploaded bool) {
	if w.secs.byTenant(sec.tenant) != sec || sec.stored == nil || !w.busy.idle() {
		w.dialogs.warn(lang.X("rotation.replace.changed.title", "The service key changed"),
			lang.X("rotation.replace.changedMeanwhile", "The stored key changed while the new one was read. Nothing was replaced: look at the key now shown, then choose Replace… again."))
		return
	}
	var tm *vault.TenantMismatchError
	switch err := vault.CheckReplace(sec.stored.Summary(), key); {
	case errors.As(err, &tm):
		w.dialogs.warn(lang.X("rotation.replace.otherTenant.title", "This key is for another tenant"),
			lang.X("rotation.replace.otherTenant", "Nothing was replaced: the new key is for tenant {{.New}}, but the stored key is for tenant {{.Stored}}. A key replaces only a key of its own tenant: choose the key file of tenant {{.Stored}}, or add the new key with Add a tenant's key.",
				map[string]any{"New": vault.Printable(tm.New), "Stored": vault.Printable(tm.Stored)}))
	case errors.Is(err, vault.ErrIdentical):
		w.secs.openOnly(sec)
		w.dialogs.tell(lang.X("rotation.replace.identical.title", "Already stored"),
			lang.X("rotation.replace.identical", "This service key is already stored for tenant {{.Tenant}}. Nothing was changed.", map[string]any{"Tenant": vault.Printable(sec.tenant)}))
	case err != nil:
		w.dialogs.warn(lang.X("rotation.replace.notReplaced.title", "The key was not replaced"), err.Error())
	default:
		w.confirmReplace(sec, key, name, uploaded)
	}
}

// confirmReplace shows the new key and asks to test it and replace.
func (w *window) confirmReplace(sec *section, key *vault.Key, name string, uploaded bool) {
	v := &replaceDialog{tenant: sec.tenant, old: sec.stored.Identity(), key: key, facts: newFactsForm(uploadFacts...)}
	v.facts.set((&vault.Stored{Key: key}).Summary(), w.seam.now())
	data := map[string]any{"Tenant": vault.Printable(sec.tenant), "OldClientID": sec.stored.Key.ClientID}
	question := lang.X("rotation.replace.question", "Replace the service key of tenant {{.Tenant}} (client ID {{.OldClientID}}) with this one? calmkey first tests that the new key logs on (token, then API). Only then does it take the old key's place; if the test fails, nothing changes.", data)
	if uploaded {
		question = lang.X("rotation.replace.questionUpload", "Tenant {{.Tenant}} already has a service key (client ID {{.OldClientID}}), and only one is kept for a tenant. Replace it with this one? calmkey first tests that the new key logs on (token, then API). Only then does it take the old key's place; if the test fails, nothing changes.", data)
	}
	v.question = wrapped(question)
	body := container.NewVBox(v.question, widget.NewSeparator(), v.facts.form)
	v.confirm = dialog.NewCustomConfirm(lang.X("rotation.replace.title", "Replace the service key?"),
		lang.X("rotation.replace.confirm", "Test and replace"), lang.X("rotation.replace.cancel", "Cancel"),
		container.NewVScroll(body), func(ok bool) {
			if ok {
				w.replaceKey(sec, v, name)
			}
		}, w.win)
	tracked(v.confirm, &v.open)
	w.dialogs.replace = v
	v.confirm.Show()
	v.confirm.Resize(fyne.NewSize(620, 480))
}

// errNewKeyFailed: the new key's test did not pass; the report says why.
var errNewKeyFailed = errors.New("the new key did not log on")

// replaceKey tests the new key, and when it logs on swaps it in and
// records the replacement and the test, then reads the keys back as a
// save does. The test and the swap are one call in flight: nothing else
// changes the keys from this window meanwhile.
func (w *window) replaceKey(sec *section, v *replaceDialog, name string) {
	if w.secs.byTenant(sec.tenant) != sec || sec.stored == nil || !w.busy.idle() {
		w.offerReplace(sec, v.key, name, false) // says why not
		return
	}
	run := &replaceRun{w: w, old: v.old, key: v.key, name: name}
	msg := lang.X("rotation.replace.running", "Testing the new key of {{.Tenant}}, then replacing the stored one…", map[string]any{"Tenant": vault.Printable(sec.tenant)})
	w.read(msg, &ownWrite{tenant: sec.tenant, run: run.run}, func(_ changes, err error) {
		w.replaced(sec.tenant, v, run, name, err)
	})
}

// replaceRun is one replacement's work off the UI goroutine.
type replaceRun struct {
	w         *window
	old       vault.Identity
	key       *vault.Key
	name      string
	rep       *almtest.Report
	stored    *vault.Stored
	recordErr error // keeping the record failed; the key was replaced
}

func (r *replaceRun) run(ctx context.Context) error {
	if err := r.test(ctx); err != nil {
		return err
	}
	st, err := r.w.store.Replace(ctx, r.old, r.key, r.name)
	if err != nil {
		return err
	}
	r.stored = st
	if h := r.w.history; h != nil {
		hctx, cancel := context.WithTimeout(ctx, historyWithin)
		defer cancel()
		lt := almtest.NewLastTest(st, r.rep)
		r.recordErr = h.RecordReplacement(hctx, almtest.NewReplacement(r.old, st), &lt)
	}
	return nil
}

// test tests the new key in one of the window's test slots, as a Test
// does: beside Test all, no more than almtest.TestsAtOnce tests run. The
// slot is given back however the test ends (a panic included: safely
// recovers above this).
func (r *replaceRun) test(ctx context.Context) error {
	slots := r.w.tests.slots
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return errors.New(lang.X("rotation.replace.noSlot", "the new key's test could not start while other tests were running; try again when they have ended"))
	}
	defer func() { <-slots }()
	r.rep = r.w.tests.run(ctx, r.key, r.w.tests.opts)
	if r.rep == nil || !r.rep.OK {
		return errNewKeyFailed
	}
	return nil
}

// replaced shows how a replacement ended (on the UI goroutine, after the
// read that follows a swap).
func (w *window) replaced(tenant string, v *replaceDialog, run *replaceRun, name string, err error) {
	data := map[string]any{"Tenant": vault.Printable(tenant), "OldClientID": run.old.ClientID}
	switch {
	case err == nil:
		sec := w.secs.byTenant(tenant)
		if sec != nil {
			w.secs.openOnly(sec)
			if run.recordErr != nil || sec.last == nil || !sec.last.Of(run.stored.Summary()) {
				// The record could not be kept (or read back): the test
				// that let the key in shows all the same.
				lt := almtest.NewLastTest(run.stored, run.rep)
				sec.last = &lt
			}
			if run.recordErr != nil {
				sec.setNote(lang.X("rotation.replace.notRecorded", "The key was replaced, but the replacement and its test could not be kept for next time: {{.Error}}.", map[string]any{"Error": run.recordErr.Error()}))
			}
		}
		w.dialogs.tell(lang.X("rotation.replace.done.title", "The key was replaced"),
			lang.X("rotation.replace.done", "The new key of tenant {{.Tenant}} logged on and is now stored in place of the old one (client ID {{.OldClientID}}). Next, update the managed systems that use the old key, then delete the old key in the SAP BTP cockpit.", data))
	case errors.Is(err, errNewKeyFailed):
		v.failed = run.rep
		w.showFailedReplacement(v)
	case errors.Is(err, vault.ErrBusy):
		w.dialogs.offerRetry(lang.X("rotation.replace.notReplaced.title", "The key was not replaced"),
			lang.X("rotation.replace.failed", "The service key was not replaced: {{.Error}}.", map[string]any{"Error": err.Error()}),
			func() { w.replaceAgain(tenant, v, name) })
	default:
		// vault's words say what happened and what to do (another
		// program replaced or deleted it meanwhile; a keychain that did
		// not answer says whether either key may be stored now).
		w.dialogs.warn(lang.X("rotation.replace.notReplaced.title", "The key was not replaced"),
			lang.X("rotation.replace.failed", "The service key was not replaced: {{.Error}}.", map[string]any{"Error": err.Error()}))
		w.read("", nil, nil)
	}
}

// replaceAgain is Try again after a busy keychain: the same new key, on
// the tenant's key as it is now.
func (w *window) replaceAgain(tenant string, v *replaceDialog, name string) {
	if sec := w.secs.byTenant(tenant); sec != nil {
		w.replaceKey(sec, v, name)
	}
}

// showFailedReplacement shows the new key's test: its steps with their
// details and hints, and that the stored key is unchanged.
func (w *window) showFailedReplacement(v *replaceDialog) {
	rep := v.failed
	objs := []fyne.CanvasObject{
		wrapped(lang.X("rotation.replace.testFailed", "The new key of tenant {{.Tenant}} did not log on, so nothing was replaced: the stored key is unchanged and still in use. The test found:", map[string]any{"Tenant": vault.Printable(v.tenant)})),
		&widget.Label{Text: outcomeWords(rep), TextStyle: fyne.TextStyle{Bold: true}, Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord},
	}
	for _, st := range rep.Steps {
		row := newStepRow(st)
		objs = append(objs, container.NewBorder(nil, nil, container.NewVBox(row.icon), nil,
			container.NewVBox(row.title, row.route, row.detail, row.hint)))
	}
	d := dialog.NewCustom(lang.X("rotation.replace.testFailed.title", "The new key did not log on"), lang.X("rotation.replace.ok", "OK"),
		container.NewVScroll(container.NewVBox(objs...)), w.win)
	d.SetIcon(theme.ErrorIcon())
	v.result = d
	d.Show()
	d.Resize(fyne.NewSize(620, 460))
}
