package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/vault"
)

// prefLastTest is the Preferences key of the last test's outcome.
const prefLastTest = "lastTest"

// testRun is a test in flight.
type testRun struct {
	cancel    context.CancelFunc
	cancelled bool // by the user, or because the key changed
}

// onTest starts a logon test in the background, once the keychain has been
// read again: a key deleted or replaced underneath is never tested. A
// second press while one runs does nothing: the button is disabled, and
// this check covers a double click that lands before the disabled state is
// drawn.
func (sec *section) onTest() {
	w := sec.w
	if sec.running != nil || w.busy != 0 || w.state != stStored {
		return
	}
	w.whenFresh("The test did not run.", sec.startTest)
}

func (sec *section) startTest() {
	w := sec.w
	if sec.running != nil || w.state != stStored {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	tr := &testRun{cancel: cancel}
	sec.running = tr
	st := sec.stored
	opts, run := w.testOpts, w.runLogonTest
	sec.activityText.SetText("Testing the logon of " + st.Key.Tenant + "…")
	w.render()
	go func() {
		var rep *almtest.Report
		err := safely("testing the logon", func() error {
			rep = run(ctx, st.Key, opts)
			return nil
		})
		cancel()
		w.do(func() { sec.tested(tr, st, rep, err) })
	}()
}

func (sec *section) onCancelTest() {
	if sec.running == nil {
		return
	}
	sec.running.cancelled = true
	sec.running.cancel()
	sec.activityText.SetText("Cancelling…")
	sec.cancelTest.Disable()
}

// tested takes a finished run. A cancelled run leaves the last result as it
// was: it proves nothing about the key.
func (sec *section) tested(run *testRun, st *vault.Stored, rep *almtest.Report, err error) {
	w := sec.w
	if sec.running == run {
		sec.running = nil
	}
	defer w.render()
	if run.cancelled {
		return
	}
	if err != nil || rep == nil {
		w.warn("The test could not run", fmt.Sprintf("%v. The last result is unchanged.", errOr(err, "the logon test gave no result")))
		return
	}
	if !sameKey(sec.stored, st) { // deleted or replaced while the test ran
		return
	}
	sec.last = newLastTest(st, rep, w.now())
	w.saveLastTest(sec.last)
}

func errOr(err error, text string) any {
	if err != nil {
		return err
	}
	return text
}

// lastTest is what the app remembers of the last test across restarts. It
// names the key by facts that are shown on screen anyway and holds no
// secret: almtest's details and hints never contain one.
type lastTest struct {
	Tenant      string         `json:"tenant"`
	ClientID    string         `json:"client_id"`
	UploadedAt  time.Time      `json:"uploaded_at"`
	At          time.Time      `json:"at"`
	OK          bool           `json:"ok"`
	KeyRejected bool           `json:"key_rejected"`
	Steps       []almtest.Step `json:"steps"` // id, status, ms, http_status, detail, hint
}

func newLastTest(st *vault.Stored, rep *almtest.Report, at time.Time) *lastTest {
	if !rep.Started.IsZero() {
		at = rep.Started
	}
	return &lastTest{
		Tenant:      st.Key.Tenant,
		ClientID:    st.Key.ClientID,
		UploadedAt:  st.UploadedAt,
		At:          at,
		OK:          rep.OK,
		KeyRejected: rep.KeyRejected,
		Steps:       rep.Steps,
	}
}

// report is the remembered outcome as an almtest Report, for its words.
func (lt *lastTest) report() *almtest.Report {
	return &almtest.Report{OK: lt.OK, KeyRejected: lt.KeyRejected, Steps: lt.Steps}
}

// belongsTo reports whether the result is about the stored key, not about
// one deleted and replaced since, perhaps by calmkeyctl.
func (lt *lastTest) belongsTo(st *vault.Stored) bool {
	return lt.Tenant == st.Key.Tenant && lt.ClientID == st.Key.ClientID && lt.UploadedAt.Equal(st.UploadedAt)
}

func (w *window) saveLastTest(lt *lastTest) {
	b, err := json.Marshal(lt)
	if err != nil {
		return // plain data always marshals
	}
	w.app.Preferences().SetString(prefLastTest, string(b))
}

func (w *window) loadLastTest(st *vault.Stored) *lastTest {
	raw := w.app.Preferences().String(prefLastTest)
	if raw == "" {
		return nil
	}
	var lt lastTest
	if json.Unmarshal([]byte(raw), &lt) != nil || !lt.belongsTo(st) {
		return nil
	}
	return &lt
}

func (w *window) forgetLastTest() {
	w.app.Preferences().RemoveValue(prefLastTest)
}

// resultView shows the last test: a headline, each step with its status,
// time, detail and hint, and for a rejected key the advice to delete it.
type resultView struct {
	box      *fyne.Container
	headline *widget.Label
	steps    *fyne.Container
	rows     []*stepRow
	rejected *fyne.Container
	advice   *widget.Label
	delete   *widget.Button
	shown    *lastTest // what rows show, so a render does not rebuild them
}

type stepRow struct {
	icon   *widget.Icon
	title  *widget.Label
	detail *widget.Label
	hint   *widget.Label
}

func newResultView(onDelete func()) *resultView {
	r := &resultView{
		headline: &widget.Label{TextStyle: fyne.TextStyle{Bold: true}},
		steps:    container.NewVBox(),
		advice: &widget.Label{
			Text: "The token endpoint rejected this key. That usually means the key, or its service instance, " +
				"was deleted in the SAP BTP cockpit. Delete it here too, then upload a current key.",
			Wrapping:   fyne.TextWrapWord,
			Importance: widget.DangerImportance,
		},
		delete: &widget.Button{Text: "Delete this key…", Icon: theme.DeleteIcon(), Importance: widget.DangerImportance, OnTapped: onDelete},
	}
	r.rejected = container.NewBorder(nil, nil, nil, container.NewVBox(r.delete), r.advice)
	r.box = container.NewVBox(widget.NewSeparator(), r.headline, r.steps, r.rejected)
	return r
}

func (r *resultView) show(lt *lastTest, canDelete bool) {
	r.headline.Importance = widget.DangerImportance
	if lt.OK {
		r.headline.Importance = widget.SuccessImportance
	}
	r.headline.SetText(lt.report().Outcome() + " — last test " + lt.At.Local().Format(timeLayout))
	show(r.rejected, lt.KeyRejected)
	enable(r.delete, canDelete)
	r.box.Show()
	if r.shown == lt {
		return
	}
	r.shown = lt

	r.rows = r.rows[:0]
	objs := make([]fyne.CanvasObject, 0, len(lt.Steps))
	for _, st := range lt.Steps {
		row := newStepRow(st)
		r.rows = append(r.rows, row)
		objs = append(objs, container.NewBorder(nil, nil, container.NewVBox(row.icon), nil,
			container.NewVBox(row.title, row.detail, row.hint)))
	}
	r.steps.Objects = objs
	r.steps.Refresh()
}

func (r *resultView) hide() { r.box.Hide() }

// newStepRow shows a step in almtest's words: "API: warning (HTTP 403,
// 80 ms)", then its detail and hint.
func newStepRow(st almtest.Step) *stepRow {
	row := &stepRow{
		icon:   widget.NewIcon(statusIcon(st.Status)),
		title:  &widget.Label{Text: st.Summary(), TextStyle: fyne.TextStyle{Bold: true}, Importance: statusImportance(st.Status)},
		detail: &widget.Label{Text: st.Detail, Wrapping: fyne.TextWrapWord},
		hint:   &widget.Label{Text: st.Hint, Wrapping: fyne.TextWrapWord, TextStyle: fyne.TextStyle{Italic: true}},
	}
	show(row.detail, st.Detail != "")
	show(row.hint, st.Hint != "")
	return row
}

func statusIcon(s almtest.Status) fyne.Resource {
	switch s {
	case almtest.StatusOK:
		return theme.ConfirmIcon()
	case almtest.StatusWarn:
		return theme.WarningIcon()
	case almtest.StatusFail:
		return theme.ErrorIcon()
	default:
		return theme.MediaSkipNextIcon()
	}
}

func statusImportance(s almtest.Status) widget.Importance {
	switch s {
	case almtest.StatusOK:
		return widget.SuccessImportance
	case almtest.StatusWarn:
		return widget.WarningImportance
	case almtest.StatusFail:
		return widget.DangerImportance
	default:
		return widget.LowImportance
	}
}
