package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wt "github.com/calmkey/calmkey/internal/windowtest"
)

// requireGermanOCR fails the test when tesseract has no German model.
func requireGermanOCR(t *testing.T) {
	t.Helper()
	out, err := exec.Command("tesseract", "--list-langs").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "\ndeu") {
		t.Fatalf("tesseract has no German (deu): install tesseract-ocr-deu (scripts/deps.sh test); %v\n%s", err, out)
	}
}

// settleGerman is wt.Settle read with tesseract's German model.
func settleGerman(t *testing.T, r *wt.Running, want string) string {
	t.Helper()
	var text string
	var shot []byte
	for i := 0; i < 10; i++ {
		time.Sleep(500 * time.Millisecond)
		shot = r.Screenshot(t)
		text = wt.ReadTextIn(t, shot, "deu+eng")
		if strings.Contains(strings.Join(strings.Fields(text), " "), want) {
			break
		}
	}
	wt.CheckNotBlank(t, shot)
	wt.SaveShot(t, "window-german.png", shot)
	return text
}

// With LANG=de_DE.UTF-8 the real window speaks German, its dates too: read
// back from the screen with tesseract's German model.
func TestWindowInGerman(t *testing.T) {
	wt.RequireTools(t)
	requireGermanOCR(t)
	bin := binaries(t)
	svc := wt.StoreWithCLI(t, filepath.Join(bin, "calmkeyctl"))
	today := time.Now().Format("02.01.2006")
	r := launch(t, bin, "calmkey", svc, "LANG=de_DE.UTF-8")
	text := settleGerman(t, r, "Hochgeladen")
	wt.MustContain(t, text, "SAP Cloud ALM Serviceschlüssel", "nicht getestet", "Hochgeladen", "Art der Anmeldung",
		"Zertifikat gültig bis", "Testen", "Alle testen", "Sprache", today)
	wt.MustNotContain(t, text, "not tested", "Uploaded", "Credential type", "Certificate expiry", "Test all", "Keys for the open tenant")
}

// CALMKEY_LANG=en wins over a German system: the window speaks English.
func TestWindowLanguageOverride(t *testing.T) {
	wt.RequireTools(t)
	bin := binaries(t)
	svc := wt.StoreWithCLI(t, filepath.Join(bin, "calmkeyctl"))
	r := launch(t, bin, "calmkey", svc, "LANG=de_DE.UTF-8", "CALMKEY_LANG=en")
	text := wt.Settle(t, r, "Uploaded")
	wt.MustContain(t, text, "SAP Cloud ALM Service Keys", "not tested", "Uploaded", time.Now().Format("2006-01-02"))
	wt.MustNotContain(t, text, "Hochgeladen", "nicht getestet")
}

// BenchmarkStartupLanguage measures the app with a stored key in English
// and in German: the time from exec to a visible window and the resident
// memory once idle. The two are started in turn in each round, so that a
// busy machine slows both alike. Compare en-ms/window with de-ms/window
// (the target: German within 2% of English) and en-rss-MB with de-rss-MB.
func BenchmarkStartupLanguage(b *testing.B) {
	wt.RequireTools(b)
	bin := binaries(b)
	svc := wt.StoreWithCLI(b, filepath.Join(bin, "calmkeyctl"))
	langs := []string{"en", "de"}
	for _, l := range langs { // unmeasured: caches warm
		wt.Stop(launch(b, bin, "calmkey", svc, "CALMKEY_LANG="+l))
	}
	shown := map[string]time.Duration{}
	rss := map[string]int{}
	for i := 0; i < b.N; i++ {
		for _, l := range langs {
			r := launch(b, bin, "calmkey", svc, "CALMKEY_LANG="+l)
			shown[l] += r.Shown
			time.Sleep(2 * time.Second) // idle: key loaded, first frames drawn
			rss[l] += r.RSSKB(b)
			wt.Stop(r)
		}
	}
	for _, l := range langs {
		b.ReportMetric(float64(shown[l].Milliseconds())/float64(b.N), l+"-ms/window")
		b.ReportMetric(float64(rss[l])/1024/float64(b.N), l+"-rss-MB")
	}
}
