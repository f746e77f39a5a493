//go:build disttest

package packaging

import (
	"strings"
	"testing"
	"time"

	wt "github.com/calmkey/calmkey/internal/windowtest"
)

// calmkey.exe under Wine with LC_ALL=de_DE.UTF-8 speaks German: Wine gives
// it German as the user's first display language, which calmkey reads with
// GetUserPreferredUILanguages (not the region format Fyne reads).
func TestWindowsAppInGerman(t *testing.T) {
	wt.RequireTools(t)
	winePrefix(t)
	svc := wt.StoreWithCLI(t, "wine", windowsExe(t, "calmkeyctl.exe"))
	today := time.Now().Format("02.01.2006")
	w := wt.Launch(t, []string{"wine", windowsExe(t, "calmkey.exe")}, svc, "LC_ALL=de_DE.UTF-8")
	var text string
	var shot []byte
	for i := 0; i < 20; i++ {
		time.Sleep(500 * time.Millisecond)
		shot = w.Screenshot(t)
		text = wt.ReadTextIn(t, shot, "deu+eng")
		if strings.Contains(text, "Hochgeladen") {
			break
		}
	}
	wt.SaveShot(t, "windows-german.png", shot)
	wt.MustContain(t, text, "SAP Cloud ALM Serviceschlüssel", "nicht getestet", "Hochgeladen", "Strg+D anzeigen", today)
	wt.MustNotContain(t, text, "not tested", "Uploaded", "Keys for the open tenant")
}

// An English display language with German region settings (Wine: LANG
// German, LC_MESSAGES English) gives English: calmkey follows the display
// language, not the region format that Fyne 2.7.1 reads (Fyne issue #5319).
func TestWindowsAppEnglishDisplayGermanRegion(t *testing.T) {
	wt.RequireTools(t)
	winePrefix(t)
	svc := wt.ServiceEnv(wt.Service(t))
	w := wt.Launch(t, []string{"wine", windowsExe(t, "calmkey.exe")}, svc, "LANG=de_DE.UTF-8", "LC_MESSAGES=en_US.UTF-8")
	text := wt.Settle(t, w, "No service key is stored yet")
	wt.MustContain(t, text, "SAP Cloud ALM Service Keys", "No service key is stored yet")
	wt.MustNotContain(t, text, "Serviceschlüssel", "Noch kein")
}
