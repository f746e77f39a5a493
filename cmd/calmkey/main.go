// Command calmkey is the desktop app that keeps an SAP Cloud ALM service key
// in the operating system's keychain.
package main

import (
	"fmt"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/assets"
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
	a := app.NewWithID("io.calmkey.app") // as in FyneApp.toml
	a.SetIcon(fyne.NewStaticResource("window-icon.png", assets.WindowIconPNG))
	w := a.NewWindow("calmkey — SAP Cloud ALM Service Key")

	// CALMKEY_KEYCHAIN_SERVICE names another keychain service; tests use it
	// so they never touch the user's keys, and calmkeyctl honours it too.
	win := ui.New(a, w, ui.Deps{
		Store:   vault.Open(vault.Options{Service: vault.ServiceFromEnv(os.Getenv)}),
		Test:    almtest.Options{},
		Version: describe(),
	})
	w.Resize(fyne.NewSize(760, 560))
	// The keychain is read once the window is up: a slow or locked keychain
	// must never hold back the window.
	a.Lifecycle().SetOnStarted(win.Load)
	w.ShowAndRun()
}
