// Command calmkey is the desktop app that keeps an SAP Cloud ALM service key
// in the operating system's keychain.
package main

import (
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/assets"
	"github.com/calmkey/calmkey/ui"
	"github.com/calmkey/calmkey/vault"
)

// version is set at build time (make build: -X main.version=...).
var version = "dev"

// serviceEnv names another keychain service; tests use it so they never
// touch the user's key, and calmkeyctl honours the same variable.
const serviceEnv = "CALMKEY_KEYCHAIN_SERVICE"

func main() {
	a := app.NewWithID("io.calmkey.app") // as in FyneApp.toml
	a.SetIcon(fyne.NewStaticResource("window-icon.png", assets.WindowIconPNG))
	w := a.NewWindow("calmkey — SAP Cloud ALM Service Key")

	service := vault.DefaultService
	if s := os.Getenv(serviceEnv); s != "" {
		service = s
	}
	win := ui.New(a, w, ui.Deps{
		Store:   vault.Open(vault.Options{Service: service}),
		Test:    almtest.Options{},
		Version: version,
	})
	w.Resize(fyne.NewSize(760, 560))
	// The keychain is read once the window is up: a slow or locked keychain
	// must never hold back the window.
	a.Lifecycle().SetOnStarted(win.Load)
	w.ShowAndRun()
}
