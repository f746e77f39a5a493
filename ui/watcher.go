package ui

import (
	"context"
	"sync/atomic"
	"time"
)

// pollEvery is how often an open window reads the stamps (vault's index,
// one item, no lock; the history file's) to see whether another program
// changed a key or recorded a test.
const pollEvery = 2 * time.Second

// stamps name the versions of what the window shows: the stored keys
// (vault's Store.Stamp) and the last tests (almtest's History.Stamp).
type stamps struct {
	keys, tests string
}

// watcher is the goroutine that checks the stamps: one check at a time,
// each every after the last one ended, or at once when woken. It skips a
// check while a keychain call of the window's own is in flight (its answer
// is as fresh), and after a failed check waits for the foreground or Try
// again (a locked keychain may ask to be unlocked: once, not every few
// seconds). What a check found goes to stamped on the UI goroutine.
type watcher struct {
	every   time.Duration
	read    func(context.Context) (stamps, error)
	busy    *atomic.Bool // a keychain call of the window's own is in flight
	stamped func(stamps, error)
	do      func(func())

	paused  atomic.Bool   // a check failed: wait for the foreground or Try again
	wake    chan struct{} // asks for a check now
	stop    chan struct{} // closed when the window closes
	started bool          // on the UI goroutine
	stopped bool          // on the UI goroutine
}

func newWatcher(every time.Duration, read func(context.Context) (stamps, error), busy *atomic.Bool, stamped func(stamps, error), do func(func())) *watcher {
	return &watcher{every: every, read: read, busy: busy, stamped: stamped, do: do, wake: make(chan struct{}, 1), stop: make(chan struct{})}
}

// start starts the watcher once; it ends when the window closes.
func (wt *watcher) start() {
	if wt.started || wt.stopped {
		return
	}
	wt.started = true
	go wt.run()
}

// close ends the watcher, once.
func (wt *watcher) close() {
	if !wt.stopped {
		wt.stopped = true
		close(wt.stop)
	}
}

// resume lifts a pause and asks for a check now: the user may have used
// calmkeyctl meanwhile, or unlocked the keychain.
func (wt *watcher) resume() {
	wt.paused.Store(false)
	select {
	case wt.wake <- struct{}{}:
	default:
	}
}

func (wt *watcher) run() {
	timer := time.NewTimer(wt.every)
	defer timer.Stop()
	for {
		select {
		case <-wt.stop:
			return
		case <-timer.C:
			if wt.paused.Load() {
				timer.Reset(wt.every)
				continue
			}
		case <-wt.wake:
		}
		if !wt.busy.Load() && !wt.check() {
			return
		}
		timer.Reset(wt.every)
	}
}

// check reads the stamps and hands them to the UI goroutine; false when
// the window closed meanwhile.
func (wt *watcher) check() bool {
	// The store bounds its Stamp and the history's has historyWithin;
	// this bounds the pair as the window's own calls are bounded.
	ctx, cancel := context.WithTimeout(context.Background(), opWithin)
	s, err := wt.read(ctx)
	cancel()
	done := make(chan struct{})
	wt.do(func() {
		defer close(done)
		wt.stamped(s, err)
	})
	select {
	case <-done:
		return true
	case <-wt.stop:
		return false
	}
}
