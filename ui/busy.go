package ui

import (
	"context"
	"errors"
	"log"
	"runtime/debug"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2/lang"
)

// opWithin bounds one keychain operation of the window's as a whole: the
// store bounds each of its calls and history calls have their own bound
// (historyWithin), but an operation chains several of them (a save, then
// the stamps and every tenant's key), and the window must come back even
// if the chain does not.
const opWithin = 3 * time.Minute

// historyWithin bounds a call to the shared record of last tests, which
// waits for the record's lock: one that another process holds for longer
// must not hang a test slot or the window. calmkeyctl allows as long.
const historyWithin = 5 * time.Second

// busyTracker is the window's keychain call in flight: at most one at a
// time, away from the UI goroutine, with what it does for the message line
// and, once it has been slow, that the window waits for the keychain.
type busyTracker struct {
	do        func(func())
	render    func()        // shows the change (on the UI goroutine)
	slowAfter time.Duration // until "waiting for the keychain" shows

	// On the UI goroutine only.
	id      int    // the call in flight, 0 when none
	last    int    // the last call's id
	msg     string // what the call does, for the message line ("" says nothing unless slow)
	waiting bool   // the call in flight has been slow

	// inFlight is id != 0, for the watcher goroutine: a check is skipped
	// while a call of the window's own is in flight (its answer is as
	// fresh).
	inFlight atomic.Bool
}

func (b *busyTracker) idle() bool { return b.id == 0 }

// run runs op away from the UI goroutine: a keychain can take long to
// answer (a locked collection, an unlock prompt, a missing daemon). msg is
// what the message line says meanwhile ("" for quick checks, which say
// nothing); when op is slow, the window says it waits for the keychain.
// done runs on the UI goroutine, then the window renders. Call it on the
// UI goroutine when idle.
func (b *busyTracker) run(msg string, op func(ctx context.Context) error, done func(error)) {
	b.start(msg, true, op, done)
}

// runQuiet is run for a call that is not the keychain's (the shared record
// of last tests): it says nothing, even when slow.
func (b *busyTracker) runQuiet(op func(ctx context.Context) error, done func(error)) {
	b.start("", false, op, done)
}

func (b *busyTracker) start(msg string, sayWaiting bool, op func(ctx context.Context) error, done func(error)) {
	b.last++
	id := b.last
	b.id, b.msg, b.waiting = id, msg, false
	b.inFlight.Store(true)
	b.render()
	slow := time.AfterFunc(b.slowAfter, func() {
		b.do(func() {
			if b.id == id && sayWaiting {
				b.waiting = true
				b.render()
			}
		})
	})
	go func() {
		err := safely("using the keychain", func() error {
			ctx, cancel := context.WithTimeout(context.Background(), opWithin)
			defer cancel()
			return op(ctx)
		})
		slow.Stop()
		b.do(func() {
			b.id, b.msg, b.waiting = 0, "", false
			b.inFlight.Store(false)
			done(err)
			b.render()
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
			err = errors.New(lang.X("window.internalError", "calmkey hit an internal error while {{.What}}; please report it", map[string]any{"What": doingText(what)}))
		}
	}()
	return f()
}

// doingText is safely's what (English, for the log) in the window's
// language; a what it does not know stays as it is.
func doingText(what string) string {
	switch what {
	case "using the keychain":
		return lang.X("window.doing.keychain", "using the keychain")
	case "saving the key file":
		return lang.X("window.doing.saving", "saving the key file")
	case "testing the logon":
		return lang.X("window.doing.testing", "testing the logon")
	case "checking the key":
		return lang.X("window.doing.checking", "checking the key")
	case "opening the file dialog":
		return lang.X("window.doing.fileDialog", "opening the file dialog")
	case "opening the save dialog":
		return lang.X("window.doing.saveDialog", "opening the save dialog")
	}
	return what
}
