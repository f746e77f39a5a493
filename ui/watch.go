package ui

// A window that stays true. Other programs share the keychain and the
// record of last tests: calmkeyctl, a cron job, a second window. The
// window reads the keychain again
//   - when a stamp changed (watcher.go checks them every pollEvery while it
//     is open): vault's Store.Stamp, one index read without the lock, and a
//     full read of the keys only when it changed; almtest's
//     History.Stamp, and a read of the last tests alone when only it
//     changed (the window's own tests change it too);
//   - when the app comes to the foreground;
//   - after a write of its own, by the same path, so that what another
//     program changed meanwhile is said too;
//   - before Display, Download, Delete or Test act (whenFresh).
// A change is shown at once and said on the message line; a dialog about
// the old key closes; an action that was about to run on it does not.

import (
	"context"
	"log"
	"sort"
	"strings"

	"fyne.io/fyne/v2/lang"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/vault"
)

// readStamps reads the stamps of what is stored. The last tests are a
// nicety: when their stamp cannot be read it is "", and the keys' stamp
// decides alone.
func (w *window) readStamps(ctx context.Context) (stamps, error) {
	keys, err := w.store.Stamp(ctx)
	if err != nil {
		return stamps{}, err
	}
	return stamps{keys: keys, tests: w.testsStamp(ctx)}, nil
}

func (w *window) testsStamp(ctx context.Context) string {
	if w.history == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, historyWithin)
	defer cancel()
	s, err := w.history.Stamp(ctx)
	if err != nil {
		return ""
	}
	return s
}

// readTests reads the last tests; when they cannot be read, the keys show
// without them.
func (w *window) readTests(ctx context.Context) almtest.LastTests {
	if w.history == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, historyWithin)
	defer cancel()
	tests, err := w.history.Read(ctx)
	if err != nil {
		log.Printf("calmkey: the last tests could not be read: %v", err)
	}
	return tests
}

// snapshot is one read of what is stored: the stamps, read first, then
// every tenant's key and the last tests.
type snapshot struct {
	stamps  stamps
	entries []vault.Entry
	tests   almtest.LastTests
	// replaced are the keys' replacements, read with the tests (replace.go).
	replaced almtest.Replacements
}

// readAll reads the stamps, then every tenant's key, sorted by tenant, and
// their last tests. The stamps come first: a change between the two reads
// leaves an old stamp beside the new keys, so the next check reads again,
// never the other way round.
func (w *window) readAll(ctx context.Context) (snapshot, error) {
	var s snapshot
	var err error
	if s.stamps, err = w.readStamps(ctx); err != nil {
		return s, err
	}
	if s.entries, err = w.store.LoadAll(ctx); err != nil {
		return s, err
	}
	if len(s.entries) > 0 {
		s.tests = w.readTests(ctx)
		s.replaced = w.readReplaced(ctx)
	}
	return s, nil
}

// loaded takes the outcome of readAll: a section per entry, in order.
func (w *window) loaded(s snapshot, err error) {
	if err != nil {
		// The stamps stand for what the window shows only after a
		// definite answer; after a busy or unreachable keychain the next
		// check reads again, so the window mends itself.
		w.state, w.loadErr, w.shown = stFailed, err, nil
		w.secs.set(nil, nil)
		return
	}
	w.loadErr, w.shown = nil, &s.stamps
	w.state = stEmpty
	if len(s.entries) > 0 {
		w.state = stStored
	}
	w.secs.set(s.entries, s.tests)
	w.secs.setReplaced(s.replaced)
}

// stamped takes a check's answer on the UI goroutine: it reads the keys
// again when they are not what the window shows, or only the last tests
// when only they changed (a test ran, here or in calmkeyctl).
func (w *window) stamped(s stamps, err error) {
	switch {
	case w.closed:
	case err != nil:
		// Say nothing on screen: an action that needs the keychain will.
		// The log says why the window stopped checking.
		log.Printf("calmkey: checking the keychain for changes failed (%v); checking again when the window comes to the foreground", err)
		w.watch.paused.Store(true)
	case !w.busy.idle() || w.state == stLoading:
		// A read or write is on its way and will show the truth.
	case w.shown == nil || s.keys != w.shown.keys:
		w.read("", nil, nil)
	case s.tests != w.shown.tests:
		w.rereadTests()
	}
}

// rereadTests reads the last tests alone and shows them: no keychain call.
func (w *window) rereadTests() {
	var tests almtest.LastTests
	var rs almtest.Replacements
	var stamp string
	w.busy.runQuiet(func(ctx context.Context) error {
		stamp = w.testsStamp(ctx) // before the read, as readAll's stamps
		tests = w.readTests(ctx)
		rs = w.readReplaced(ctx)
		return nil
	}, func(error) {
		if w.shown == nil {
			return // a read failed meanwhile: the next check reads all
		}
		w.shown.tests = stamp
		w.secs.setTests(tests)
		w.secs.setReplaced(rs)
	})
}

// view is what the window showed, to tell what changed: the keys by
// tenant (nil for a damaged one).
type view struct {
	state keyState
	keys  map[string]*vault.Stored
}

func (w *window) view() view { return view{state: w.state, keys: w.secs.keys()} }

// change is what another program did to a tenant's key.
type change int

const (
	unchanged change = iota
	appeared         // a key was stored where none was
	vanished         // the key shown was deleted
	replaced         // another key (or the same one, stored again) is in its place
)

// changes are the tenants whose keys changed, with what happened.
type changes map[string]change

// byAnother is who changed a key when the window did not.
func byAnother() string {
	return lang.X("window.news.another", "another program (calmkeyctl, another calmkey window or a script)")
}

// news says what happened, for the message line.
func (cs changes) news() string {
	if len(cs) == 0 {
		return ""
	}
	var parts []string
	for _, t := range sortedKeys(cs) {
		name := lang.X("window.news.tenant", "tenant {{.Tenant}}", map[string]any{"Tenant": vault.Printable(t)})
		if t == "" {
			name = lang.X("window.news.damaged", "the damaged entry")
		}
		switch cs[t] {
		case appeared:
			parts = append(parts, lang.X("window.news.stored", "a key of {{.Name}} was stored", map[string]any{"Name": name}))
		case vanished:
			parts = append(parts, lang.X("window.news.deleted", "the key of {{.Name}} was deleted", map[string]any{"Name": name}))
		case replaced:
			parts = append(parts, lang.X("window.news.replaced", "the key of {{.Name}} was replaced", map[string]any{"Name": name}))
		}
	}
	return capitalized(lang.X("window.news.by", "{{.Changes}} by another program (calmkeyctl, another calmkey window or a script).", map[string]any{"Changes": strings.Join(parts, ", ")}))
}

func sortedKeys(cs changes) []string {
	ts := make([]string, 0, len(cs))
	for t := range cs {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}

// changesBetween compares what the window showed with what it shows after
// a read. Only a definite view counts: after the first read, or a failed
// one, nothing "changed".
func changesBetween(before, after view) changes {
	definite := func(v view) bool { return v.state == stEmpty || v.state == stStored }
	if !definite(before) || !definite(after) {
		return nil
	}
	cs := changes{}
	for t, had := range before.keys {
		has, ok := after.keys[t]
		switch {
		case !ok:
			cs[t] = vanished
		case !sameKey(had, has):
			cs[t] = replaced
		}
	}
	for t := range after.keys {
		if _, ok := before.keys[t]; !ok {
			cs[t] = appeared
		}
	}
	return cs
}

// ownWrite is a write of the window's own that a read follows: what it did
// to its tenant's key is not news.
type ownWrite struct {
	tenant string
	run    func(ctx context.Context) error
}

// read reads every tenant's key (after own, if given, succeeded) in the
// background, shows what is stored, and says what another program
// changed. then, if given, runs afterwards with the changes, or with own's
// error when own failed (then nothing was read and the window is as it
// was).
func (w *window) read(msg string, own *ownWrite, then func(changes, error)) {
	before := w.view()
	var snap snapshot
	wrote := own == nil
	w.keychain(msg, func(ctx context.Context) error {
		if own != nil {
			if err := own.run(ctx); err != nil {
				return err
			}
			wrote = true
		}
		var err error
		snap, err = w.readAll(ctx)
		return err
	}, func(err error) {
		if !wrote {
			then(nil, err)
			return
		}
		w.loaded(snap, err)
		cs := changesBetween(before, w.view())
		if own != nil {
			delete(cs, own.tenant)
		}
		if len(cs) > 0 {
			w.line.news = cs.news()
			w.closeStale(cs)
		}
		if then != nil {
			then(cs, nil)
		}
	})
}

// closeStale closes the dialogs about a key that is no longer the one
// stored, and says why they closed.
func (w *window) closeStale(cs changes) {
	ds := w.dialogs
	var closed []string
	if d := ds.display; d != nil && d.open && cs[d.key.Tenant] != unchanged {
		d.dialog.Hide()
		closed = append(closed, lang.X("window.news.closedDisplay", "the key's display"))
	}
	if d := ds.delete; d != nil && d.open && cs[d.tenant] != unchanged {
		d.dialog.Hide()
		closed = append(closed, lang.X("window.news.closedDelete", "the question whether to delete it (nothing was deleted)"))
	}
	if d := ds.download; d != nil && d.open && cs[d.tenant] != unchanged {
		d.dialog.Hide()
		closed = append(closed, lang.X("window.news.closedDownload", "the download (nothing was saved)"))
	}
	if d := ds.upload; d != nil && d.open && w.secs.byTenant(d.key.Tenant) != nil {
		d.dialog.Hide() // its callback takes a pasted key off the clipboard
		ds.warn(alreadyHasKeyTitle(), capitalized(lang.X("window.news.storedWhileChecking", "{{.Another}} stored a service key of tenant {{.Tenant}} while you were checking this one, and only one is kept for a tenant. Nothing was stored from here; the window now shows the stored key. To put yours in its place, use Replace… in its section.",
			map[string]any{"Another": byAnother(), "Tenant": vault.Printable(d.key.Tenant)})))
		return
	}
	if len(closed) > 0 {
		ds.warn(keyChangedTitle(), cs.news()+" "+lang.X("window.news.closed", "calmkey closed {{.Dialogs}}.", map[string]any{"Dialogs": strings.Join(closed, lang.X("window.news.and", " and "))}))
	}
}

// whenFresh checks in the background that the key sec shows is still the
// one stored, then runs act on the UI goroutine. When another program
// changed it, the window shows what is stored now and says so, and act
// does not run: an action never acts on a stale key. With sec nil (Test
// all), act runs on whatever is stored after the check. undone says what
// did not happen ("Nothing was displayed.").
func (w *window) whenFresh(sec *section, undone string, act func()) {
	if !w.busy.idle() {
		w.dialogs.pleaseWait()
		return
	}
	var stamp string
	w.keychain("", func(ctx context.Context) error {
		var err error
		stamp, err = w.store.Stamp(ctx)
		return err
	}, func(err error) {
		switch {
		case err != nil:
			w.dialogs.warn(lang.X("window.fresh.failed.title", "The keychain could not be read"),
				lang.X("window.fresh.failed", "calmkey reads the keychain before it acts, to be sure the key is still stored, and that failed: {{.Error}}.", map[string]any{"Error": errText(err)})+" "+undone)
		case w.shown != nil && stamp == w.shown.keys:
			act()
		default:
			w.read(readingText(), nil, func(cs changes, _ error) {
				switch {
				case w.state == stFailed:
				case sec == nil:
					act()
				case cs[sec.tenant] == unchanged && w.secs.byTenant(sec.tenant) == sec:
					act()
				case !w.dialogs.anyOpen():
					w.dialogs.warn(keyChangedTitle(), cs.news()+" "+undone)
				}
			})
		}
	})
}
