package ui

// A window that stays true. Other programs share the keychain: calmkeyctl,
// a cron job, a second window. The window reads the keychain again
//   - every pollEvery while it is open: vault's Store.Stamp, one manifest
//     read without the lock, and a full Load only when the stamp changed;
//   - when the app comes to the foreground;
//   - before Display, Download, Delete or Test act (whenFresh).
// A change is shown at once and said on the message line; a dialog about
// the old key closes; an action that was about to run on it does not.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/vault"
)

// startWatch starts the watcher once; it ends when the window closes.
func (w *window) startWatch() {
	if w.watching || w.closed {
		return
	}
	w.watching = true
	go w.watch()
}

// watch is the watcher goroutine: one check at a time, each pollEvery after
// the last one ended, or at once when woken. It skips a check while a
// keychain call of the window's own is in flight (its answer is as fresh),
// and after a failed check waits for the foreground or Try again (a locked
// keychain may ask to be unlocked: once, not every few seconds).
func (w *window) watch() {
	timer := time.NewTimer(w.pollEvery)
	defer timer.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-timer.C:
			if w.watchPaused.Load() {
				timer.Reset(w.pollEvery)
				continue
			}
		case <-w.wake:
		}
		if !w.keychainBusy.Load() {
			stamp, err := w.store.Stamp(context.Background())
			tests := w.historyStamp()
			done := make(chan struct{})
			w.do(func() {
				defer close(done)
				w.stamped(stamp, tests, err)
			})
			select {
			case <-done:
			case <-w.stop:
				return
			}
		}
		timer.Reset(w.pollEvery)
	}
}

// stamped takes a check's answer on the UI goroutine, and reads the keys
// again when they are not what the window shows, or when the last tests
// changed (calmkeyctl test recorded one).
func (w *window) stamped(stamp, tests string, err error) {
	switch {
	case w.closed:
	case err != nil:
		// Say nothing: an action that needs the keychain will.
		w.watchPaused.Store(true)
	case w.busy != 0 || w.state == stLoading:
		// A read or write is on its way and will show the truth.
	case w.stampOK && stamp == w.stamp && tests == w.testsStamp:
	default:
		w.read("", nil)
	}
}

// historyStamp names the version of the last tests' file cheaply (its
// size and time, one stat): "" when there is none. The window reads the
// file again when it changes, so a test that calmkeyctl ran shows.
func (w *window) historyStamp() string {
	if w.history == nil {
		return ""
	}
	fi, err := os.Stat(w.history.Path())
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%d-%d", fi.Size(), fi.ModTime().UnixNano())
}

// onForeground runs when the app comes to the foreground: the user may
// have used calmkeyctl meanwhile, so the window checks at once.
func (w *window) onForeground() {
	w.watchPaused.Store(false)
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// view is what the window showed, to tell what changed: the keys by
// tenant (nil for a damaged one).
type view struct {
	state keyState
	keys  map[string]*vault.Stored
}

func (w *window) view() view {
	v := view{state: w.state, keys: map[string]*vault.Stored{}}
	for _, sec := range w.secs {
		v.keys[sec.tenant] = sec.stored
	}
	return v
}

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

const byAnother = "another program (calmkeyctl, another calmkey window or a script)"

// news says what happened, for the message line.
func (cs changes) news() string {
	if len(cs) == 0 {
		return ""
	}
	var parts []string
	for _, t := range sortedKeys(cs) {
		name := "tenant " + vault.Printable(t)
		if t == "" {
			name = "the damaged entry"
		}
		switch cs[t] {
		case appeared:
			parts = append(parts, "a key of "+name+" was stored")
		case vanished:
			parts = append(parts, "the key of "+name+" was deleted")
		case replaced:
			parts = append(parts, "the key of "+name+" was replaced")
		}
	}
	text := strings.Join(parts, ", ")
	return strings.ToUpper(text[:1]) + text[1:] + " by " + byAnother + "."
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

// sameKey: the same bytes stored at the same time. Two damaged keys (nil)
// count as the same: the damage message stands.
func sameKey(a, b *vault.Stored) bool {
	if a == nil || b == nil {
		return a == b
	}
	return bytes.Equal(a.Key.Bytes(), b.Key.Bytes()) && a.UploadedAt.Equal(b.UploadedAt) && a.FileName == b.FileName
}

// read reads the stamp, then every tenant's key, in the background, shows
// what is stored, and says what another program changed. The stamp comes
// first: a change between the two reads leaves an old stamp beside the new
// keys, so the next check reads again, never the other way round. then, if
// given, runs afterwards with the changes.
func (w *window) read(msg string, then func(changes)) {
	before := w.view()
	var es []entry
	var tests almtest.LastTests
	var stamp, testsStamp string
	stamped := false
	w.keychain(msg, func(ctx context.Context) error {
		var err error
		if stamp, err = w.store.Stamp(ctx); err != nil {
			return err
		}
		stamped = true
		testsStamp = w.historyStamp() // before the read, as the stamp
		es, tests, err = w.readAll(ctx)
		return err
	}, func(err error) {
		w.loaded(es, tests, err)
		w.testsStamp = testsStamp
		// The stamp stands for what the window shows only after a definite
		// answer; after a busy or unreachable keychain the next check reads
		// again, so the window mends itself.
		w.stamp, w.stampOK = stamp, stamped && err == nil
		cs := changesBetween(before, w.view())
		if len(cs) > 0 {
			w.news = cs.news()
			w.closeStale(cs)
		}
		if then != nil {
			then(cs)
		}
	})
}

// closeStale closes the dialogs about a key that is no longer the one
// stored, and says why they closed.
func (w *window) closeStale(cs changes) {
	var closed []string
	if d := w.dialogs.display; d != nil && d.open && cs[d.key.Tenant] != unchanged {
		d.dialog.Hide()
		closed = append(closed, "the key's display")
	}
	if d := w.dialogs.delete; d != nil && d.open && cs[d.tenant] != unchanged {
		d.dialog.Hide()
		closed = append(closed, "the question whether to delete it (nothing was deleted)")
	}
	if d := w.dialogs.download; d != nil && d.open && cs[d.sec.tenant] != unchanged {
		d.dialog.Hide()
		closed = append(closed, "the download (nothing was saved)")
	}
	if d := w.dialogs.upload; d != nil && d.open && w.section(d.key.Tenant) != nil {
		d.dialog.Hide() // its callback takes a pasted key off the clipboard
		w.warn("The tenant already has a key", "Another program (calmkeyctl, another calmkey window or a script) stored a service key of tenant "+vault.Printable(d.key.Tenant)+" while you were checking this one, and only one is kept for a tenant. Nothing was stored from here; the window now shows the stored key. To replace it, delete it first.")
		return
	}
	if len(closed) > 0 {
		w.warn("The service key changed", cs.news()+" calmkey closed "+strings.Join(closed, " and ")+".")
	}
}

// whenFresh checks in the background that the key sec shows is still the
// one stored, then runs act on the UI goroutine. When another program
// changed it, the window shows what is stored now and says so, and act
// does not run: an action never acts on a stale key. With sec nil (Test
// all), act runs on whatever is stored after the check. undone says what
// did not happen ("Nothing was displayed.").
func (w *window) whenFresh(sec *section, undone string, act func()) {
	if w.busy != 0 {
		w.warn("Please wait", "calmkey is still talking to the keychain. Try again once it has answered.")
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
			w.warn("The keychain could not be read", "calmkey reads the keychain before it acts, to be sure the key is still stored, and that failed: "+err.Error()+". "+undone)
		case w.stampOK && stamp == w.stamp:
			act()
		default:
			w.read(readingText, func(cs changes) {
				switch {
				case w.state == stFailed:
				case sec == nil:
					act()
				case cs[sec.tenant] == unchanged && w.section(sec.tenant) == sec:
					act()
				case !w.dialogOpen():
					w.warn("The service key changed", cs.news()+" "+undone)
				}
			})
		}
	})
}

// dialogOpen reports whether a dialog is open on the window.
func (w *window) dialogOpen() bool { return w.win.Canvas().Overlays().Top() != nil }
