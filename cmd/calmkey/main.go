// Command calmkey is the desktop app that keeps an SAP Cloud ALM service key
// in the operating system's keychain.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/assets"
	"github.com/calmkey/calmkey/internal/instance"
	"github.com/calmkey/calmkey/ui"
	"github.com/calmkey/calmkey/vault"
)

// version and commit are set at build time (make build and make dist:
// -X main.version=... -X main.commit=...).
var (
	version = "dev"
	commit  = ""
)

// describe is the version as the footer and --version show it.
func describe() string {
	if commit == "" {
		return version
	}
	return version + " (commit " + commit + ")"
}

func main() {
	// --version prints where there is a console (Linux, macOS; on Windows,
	// calmkey.exe is a GUI program: redirect it, calmkey.exe --version > v.txt).
	// The window's footer shows the same.
	if len(os.Args) == 2 && (os.Args[1] == "--version" || os.Args[1] == "-version") {
		fmt.Println("calmkey " + describe())
		return
	}
	// CALMKEY_KEYCHAIN_SERVICE names another keychain service; tests use it
	// so they never touch the user's keys, and calmkeyctl honours it too.
	service := vault.ServiceFromEnv(os.Getenv)

	inst := oneInstance(service)

	a := app.NewWithID("io.calmkey.app") // as in FyneApp.toml
	a.SetIcon(fyne.NewStaticResource("window-icon.png", assets.WindowIconPNG))
	// The language first: the window's title and every text after it
	// follow it (CALMKEY_LANG, the choice kept in the window, the system's
	// display language).
	ui.SetupLanguage(a)
	w := a.NewWindow(ui.Title())

	// The last tests are shared with calmkeyctl; without a folder for them
	// (no config folder) the app still works, without remembering tests.
	history, err := almtest.OpenHistory("", service)
	if err != nil {
		fmt.Fprintln(os.Stderr, "calmkey:", err)
	}
	win := ui.New(a, w, ui.Deps{
		Store:   vault.Open(vault.Options{Service: service}),
		Test:    almtest.Options{},
		History: history,
		Version: describe(),
	})
	w.Resize(fyne.NewSize(defaultWidth, defaultHeight))
	// The keychain is read once the window is up: a slow or locked keychain
	// must never hold back the window.
	a.Lifecycle().SetOnStarted(win.Load)
	if inst != nil {
		inst.Serve(func() bool { return raise(w) })
	}
	// The way out is bounded (fynestop.go): from the close button or a
	// signal, the process ends within exitWithin whatever hangs.
	onCloseOrSignal(a, w)
	go exitWhenStopped()
	w.ShowAndRun()
}

// oneInstance makes this process the one app of the user and keychain
// service, before anything of Fyne starts: a second start asks the running
// app to show and raise its window and exits. A start while the previous
// app is still closing waits until that process has exited: this also works
// around Fyne 2.7.1's start-up race (a Fyne app started while its previous
// instance is still shutting down can leave its window unshown). The lock
// is never released here: it goes with the process, after Fyne is done. nil
// means there was no lock to be had, and the app starts anyway.
func oneInstance(service string) *instance.Instance {
	inst, err := instance.Start(context.Background(), instance.Options{Service: service})
	switch {
	case errors.Is(err, instance.ErrRunning):
		fmt.Println(err)
		os.Exit(0)
	case errors.Is(err, instance.ErrNoAnswer):
		tell(err.Error())
		os.Exit(1)
	case err != nil:
		// No lock to be had (an unwritable cache folder...): start anyway;
		// one window is a convenience, the keychain has its own lock.
		fmt.Fprintln(os.Stderr, "calmkey: starting without the one-instance check:", err)
	}
	return inst
}

// The window's size at start: one open tenant section, its details and
// its last test's result fit without scrolling.
const defaultWidth, defaultHeight = 860, 760

// raise shows w, restored if minimised, and asks for the focus, on the UI
// goroutine; it reports whether it did. It answers false once the app is
// on its way out (closing, or quitting), so that a new start waits for this
// process to exit rather than exit itself with no window left. After the
// loop has ended, DoAndWait either drops the function or runs it on the
// calling goroutine, where stopped is true.
func raise(w fyne.Window) bool {
	if exiting.Load() {
		return false
	}
	shown := false
	fyne.DoAndWait(func() {
		if exiting.Load() || stopped() {
			return
		}
		w.Show()
		restore(w)
		w.RequestFocus()
		shown = true
	})
	return shown
}
