package main

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
)

// Fyne 2.7.1 can hang on its way out. When its loop ends it queues the
// app's OnStopped event, whose runner hands it to the UI queue and waits;
// the loop then empties that queue but can miss a function still on its
// way in, and the runner waits for ever: Run never returns, and the
// process lives on without a window, holding the one-instance lock. Seen
// here in about 1 of 30 SIGTERMs that came soon after the window showed. So
// calmkey watches for the loop's end itself and exits a grace period later
// if Fyne has not returned by then.

// stopGrace is how long Fyne may take from the loop's end to Run's return;
// it needs milliseconds (saving the preferences).
const stopGrace = 2 * time.Second

// stopped reports whether Fyne's loop has stopped or is stopping. Fyne
// 2.7.1 has no call for it, but fyne.Do shows it: while the loop runs,
// fyne.Do queues its function for the UI goroutine; once Quit was called
// (from the UI goroutine), or the loop has ended (from any goroutine), it
// runs the function at once on the calling goroutine.
func stopped() bool {
	me := goroutineID()
	var here atomic.Bool
	fyne.Do(func() {
		if goroutineID() == me {
			here.Store(true)
		}
	})
	return here.Load()
}

// exitWhenStopped polls stopped (a no-op queued four times a second while
// the app runs) and ends the process stopGrace after the loop's end.
func exitWhenStopped() {
	for {
		time.Sleep(250 * time.Millisecond)
		if stopped() {
			time.Sleep(stopGrace)
			os.Exit(0)
		}
	}
}

// goroutineID is the number of the calling goroutine, read from the first
// line of its stack trace ("goroutine 18 [running]:"), as Fyne finds its
// UI goroutine.
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}
