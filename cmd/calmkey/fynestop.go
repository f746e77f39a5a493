package main

import (
	"bytes"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
)

// The way out is bounded: from the moment the app is asked to end (the
// window's close button, SIGTERM at a logout or restart, SIGINT) the process
// ends within exitWithin, whatever hangs on the way. A new start waits for
// this process to exit before it shows its window (internal/instance), so
// every second spent here is a second of no window for the user.
//
// Nothing on the way out needs to finish: the keychain and the history file
// are written under their own locks, in steps that vault and almtest
// recover from when a process dies midway (a logout kills an app that takes
// too long anyway), and the
// app keeps nothing in Fyne's preferences it could not lose (the last
// download folder). What can hang there:
//   - Fyne 2.7.1's GLFW (go-gl/glfw v3.3), in glfwTerminate at the loop's
//     end: an app that owns the X11 clipboard (it copied a value, or took a
//     pasted key off the clipboard, which leaves it the owner of an empty
//     one) hands it to the session's clipboard manager and waits for the
//     manager's answer with no time limit; a manager that does not answer
//     (one stopping at a logout) held the app for as long as it lived. So
//     does an X server that does not answer. Shown by
//     TestTermWhileClipboardManagerHangs and TestTermWhileDisplayHangs: the
//     goroutine dump has the main goroutine in glfwTerminate.
//   - Fyne 2.7.1 itself. When its loop ends it queues the app's OnStopped
//     event (its own preferences save), whose runner hands it to the UI
//     queue and waits; the loop then empties that queue but can miss a
//     function still on its way in, and the runner waits for ever: Run never
//     returns, and the process lives on without a window, holding the
//     one-instance lock. Seen in about 1 of 30 SIGTERMs that came soon
//     after the window showed.
//   - The UI goroutine, before the loop ends: a window's OnClosed reads the
//     clipboard (an X11 selection request that GLFW waits on with no time
//     limit when the owner does not answer), and any work queued on the UI
//     goroutine (fyne.Do) runs before Fyne's own Quit.
//   - Work in the background: a keychain call (D-Bus to the Secret
//     Service), a history file lock, a logon test. These hold no one up as
//     long as the process may exit without them, which the hard exit below
//     makes sure of.
// So calmkey arms a hard exit as soon as it is asked to end, beside Fyne's
// own handling, and, for an end it did not see coming, when it sees the
// loop's end.

// exitWithin is how long the way out may take, from the request to end (or
// the loop's end) to the process's end. Fyne needs milliseconds for it.
const exitWithin = 2 * time.Second

// exiting is set once the way out has begun: raise then answers that the
// app is closing, so that a new start waits for this process to exit
// instead of raising a window that is about to go.
var exiting atomic.Bool

var armOnce sync.Once

// armExit starts the way out: the process ends exitWithin from the first
// call, unless Fyne's Run has returned by then (main then ends it).
func armExit(why string) {
	armOnce.Do(func() {
		exiting.Store(true)
		time.AfterFunc(exitWithin, func() { hardExit(why) })
	})
}

// hardExit ends a way out that took longer than exitWithin. It says so on
// stderr, and with GOTRACEBACK=all (or system, crash) prints where every
// goroutine waits, as a crash does, to find what held it up.
func hardExit(why string) {
	fmt.Fprintf(os.Stderr, "calmkey: the app did not finish closing within %v of %s; ending it now\n", exitWithin, why)
	switch os.Getenv("GOTRACEBACK") {
	case "all", "system", "crash":
		_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
	}
	os.Exit(0)
}

// onCloseOrSignal arms the hard exit when the way out begins: at the
// window's close button, and at SIGTERM or SIGINT, which Fyne also catches
// (it quits its loop) and calmkey catches beside it. Call it just before
// ShowAndRun: until Fyne has set its own handler a signal ends the
// process at once, as by default, and from then on both see it. A signal
// that comes before Fyne's handler is set is followed by a Quit of calmkey's
// own. It takes the window's close intercept (Fyne keeps one): ui sets
// none, and one that ui.New set would be replaced here.
func onCloseOrSignal(a fyne.App, w fyne.Window) {
	w.SetCloseIntercept(func() {
		armExit("the close button")
		w.Close()
	})
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	go func() {
		why := "SIGTERM"
		if <-sigs == os.Interrupt {
			why = "SIGINT"
		}
		armExit(why)
		fyne.Do(a.Driver().Quit)
	}()
}

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
// the app runs) and arms the hard exit at the loop's end, for an end that
// onCloseOrSignal did not see (a Quit from elsewhere).
func exitWhenStopped() {
	for {
		time.Sleep(250 * time.Millisecond)
		if stopped() {
			armExit("the end of Fyne's loop")
			return
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
