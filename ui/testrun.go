package ui

import (
	"context"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/vault"
)

// lastTest is a tenant's last test as almtest's History keeps it, shared
// with calmkeyctl: whichever ran the test, the other shows it. It holds no
// secret: almtest's details and hints never contain one.
type lastTest = almtest.LastTest

// testRun is a test in flight.
type testRun struct {
	cancel    context.CancelFunc
	cancelled bool // by the user, or because the key changed
}

// tester runs logon tests in the background and keeps them in the shared
// record. The tests in flight, one section's or Test all's, share
// almtest.TestsAtOnce slots. They share a channel of slots rather than an
// errgroup: each test starts, reports and is cancelled on its own, and a
// test started from its section while Test all runs must wait for the same
// slots; nothing waits for a group.
type tester struct {
	opts    almtest.Options
	run     func(context.Context, *vault.Key, almtest.Options) *almtest.Report
	history *almtest.History // nil: nothing recorded
	slots   chan struct{}    // a token per test in flight
	do      func(func())
	// recordWithin bounds keeping a test in the record, whose lock
	// another process may hold: historyWithin, shorter in tests.
	recordWithin time.Duration
}

func newTester(opts almtest.Options, history *almtest.History, do func(func())) *tester {
	return &tester{opts: opts, run: almtest.Run, history: history, slots: make(chan struct{}, almtest.TestsAtOnce), do: do, recordWithin: historyWithin}
}

// start tests st's key once a slot is free, unless ctx ends first, and
// records the outcome of a test that ran to its end. started runs on the
// UI goroutine when the test takes its slot; done when it ended, with the
// report (nil when it did not run), a panic turned error and the error of
// keeping the record.
func (t *tester) start(ctx context.Context, st *vault.Stored, started func(), done func(rep *almtest.Report, err, recordErr error)) {
	// The options as they are now: the proxy preference may change while
	// the test waits for its slot or runs.
	opts := t.opts
	go func() {
		var rep *almtest.Report
		var recordErr error
		err := safely("testing the logon", func() error {
			select {
			case t.slots <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			defer func() { <-t.slots }()
			t.do(started)
			rep = t.run(ctx, st.Key, opts)
			if ctx.Err() == nil && rep != nil && t.history != nil {
				rctx, cancel := context.WithTimeout(context.Background(), t.recordWithin)
				defer cancel()
				recordErr = t.history.Record(rctx, almtest.NewLastTest(st, rep))
			}
			return nil
		})
		t.do(func() { done(rep, err, recordErr) })
	}()
}

// onTest starts a logon test of sec's key in the background, once the
// keychain has been read again: a key deleted or replaced underneath is
// never tested. A second press while one runs does nothing: the button is
// disabled, and this check covers a double click that lands before the
// disabled state is drawn.
func (w *window) onTest(sec *section) {
	if sec.running != nil || !w.busy.idle() || sec.stored == nil {
		return
	}
	w.whenFresh(sec, lang.X("window.undone.test", "The test did not run."), func() { w.startTest(sec) })
}

// onTestAll tests every tenant's key at once (at most almtest.TestsAtOnce
// in flight), once the keychain has been read again; each section shows
// its own progress and result.
func (w *window) onTestAll() {
	if !w.busy.idle() || w.state != stStored {
		return
	}
	w.whenFresh(nil, lang.X("window.undone.testAll", "No test ran."), func() {
		for _, sec := range w.secs.all {
			w.startTest(sec)
		}
	})
}

func (w *window) startTest(sec *section) {
	if sec.running != nil || sec.stored == nil || w.closed {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	tr := &testRun{cancel: cancel}
	sec.running = tr
	sec.note.Hide()
	st := sec.stored
	name := vault.Printable(st.Key.Tenant)
	sec.activity.text.SetText(lang.X("window.test.waiting", "Waiting to test {{.Tenant}}…", map[string]any{"Tenant": name}))
	w.render()
	w.tests.start(ctx, st, func() {
		if sec.running == tr && !tr.cancelled {
			sec.activity.text.SetText(lang.X("window.test.testingTenant", "Testing the logon of {{.Tenant}}…", map[string]any{"Tenant": name}))
		}
	}, func(rep *almtest.Report, err, recordErr error) {
		cancel()
		sec.tested(tr, st, rep, err, recordErr)
		w.render()
	})
}

func (sec *section) onCancelTest() {
	if sec.running == nil {
		return
	}
	sec.running.cancelled = true
	sec.running.cancel()
	sec.activity.text.SetText(lang.X("window.test.cancelling", "Cancelling…"))
	sec.activity.cancel.Disable()
}

// tested takes a finished run. A cancelled run leaves the last result as it
// was: it proves nothing about the key. A test that could not run says so
// in its own section, which leaves the other tenants' sections as they are.
func (sec *section) tested(run *testRun, st *vault.Stored, rep *almtest.Report, err, recordErr error) {
	if sec.running == run {
		sec.running = nil
	}
	if run.cancelled {
		return
	}
	if err != nil || rep == nil {
		why := lang.X("window.test.noResult", "the logon test gave no result")
		if err != nil {
			why = err.Error()
		}
		sec.setNote(lang.X("window.test.couldNotRun", "The test could not run: {{.Error}}. The last result is unchanged.", map[string]any{"Error": why}))
		return
	}
	if !sameKey(sec.stored, st) { // deleted or replaced while the test ran
		return
	}
	lt := almtest.NewLastTest(st, rep)
	sec.last = &lt
	if recordErr != nil {
		sec.setNote(lang.X("window.test.notKept", "The result shows here, but could not be kept for next time: {{.Error}}.", map[string]any{"Error": recordErr.Error()}))
	}
}

func (sec *section) setNote(text string) {
	sec.note.SetText(text)
	sec.note.Show()
}

// resultView shows the last test: a headline, each step with its status,
// time, detail and hint (almtest's hint for a rejected key says to delete
// it), and for a rejected key a button that does.
type resultView struct {
	box      *fyne.Container
	headline *widget.Label
	steps    *fyne.Container
	rows     []*stepRow
	rejected *fyne.Container
	delete   *widget.Button
	shown    *lastTest // what rows show, so a render does not rebuild them
}

type stepRow struct {
	icon   *widget.Icon
	title  *widget.Label
	route  *widget.Label // "Route: via proxy.corp:8080 (Windows settings)", in almtest's words
	detail *widget.Label
	hint   *widget.Label
}

func newResultView(onDelete func()) *resultView {
	r := &resultView{
		headline: &widget.Label{TextStyle: fyne.TextStyle{Bold: true}},
		steps:    container.NewVBox(),
		delete:   &widget.Button{Text: lang.X("window.button.deleteKey", "Delete this key…"), Icon: theme.DeleteIcon(), Importance: widget.DangerImportance, OnTapped: onDelete},
	}
	r.rejected = container.NewVBox(r.delete)
	r.box = container.NewVBox(widget.NewSeparator(), container.NewBorder(nil, nil, nil, r.rejected, r.headline), r.steps)
	return r
}

func (r *resultView) show(lt *lastTest, canDelete bool) {
	r.headline.Importance = widget.DangerImportance
	if lt.Report.OK {
		r.headline.Importance = widget.SuccessImportance
	}
	r.headline.SetText(lang.X("window.result.headline", "{{.Outcome}} — last test {{.Time}}", map[string]any{"Outcome": outcomeWords(lt.Report), "Time": formatTime(lt.At())}))
	show(r.rejected, lt.Report.KeyRejected)
	enable(r.delete, canDelete)
	r.box.Show()
	if r.shown == lt {
		return
	}
	r.shown = lt

	r.rows = r.rows[:0]
	objs := make([]fyne.CanvasObject, 0, len(lt.Report.Steps))
	for _, st := range lt.Report.Steps {
		row := newStepRow(st)
		r.rows = append(r.rows, row)
		objs = append(objs, container.NewBorder(nil, nil, container.NewVBox(row.icon), nil,
			container.NewVBox(row.title, row.route, row.detail, row.hint)))
	}
	r.steps.Objects = objs
	r.steps.Refresh()
}

func (r *resultView) hide() { r.box.Hide() }

// newStepRow shows a step in almtest's words: "API: warning (HTTP 403,
// 80 ms)", then the way its connection went out (as calmkeyctl test says
// it), its detail and hint.
func newStepRow(st almtest.Step) *stepRow {
	title, detail := stepLine(st), stepDetail(st)
	if st.Status == almtest.StatusSkipped && detail != "" {
		// A step that did not run takes one line: "API: skipped — not
		// run: there is no token".
		title, detail = title+" — "+detail, ""
	}
	row := &stepRow{
		icon:  widget.NewIcon(statusIcon(st.Status)),
		title: &widget.Label{Text: title, TextStyle: fyne.TextStyle{Bold: true}, Importance: statusImportance(st.Status), Wrapping: fyne.TextWrapWord},
		// The route in caption size, so that two steps' routes fit the
		// open section at the window's default size.
		route:  &widget.Label{SizeName: theme.SizeNameCaptionText, Wrapping: fyne.TextWrapWord},
		detail: &widget.Label{Text: detail, Wrapping: fyne.TextWrapWord},
		hint:   &widget.Label{Text: stepHint(st), Wrapping: fyne.TextWrapWord, TextStyle: fyne.TextStyle{Italic: true}},
	}
	if st.Route != nil {
		row.route.Text = lang.X("window.result.route", "Route: {{.Route}}", map[string]any{"Route": routeText(*st.Route)})
	}
	show(row.route, st.Route != nil)
	show(row.detail, detail != "")
	show(row.hint, row.hint.Text != "")
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
