package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/internal/netroute"
	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
)

var updateFindings = flag.Bool("update-findings", false, "write translations/findings/en.json from vault's and almtest's English")

const findingsDir = "translations/findings/"

// findingsTable reads one language's findings texts: a string, or plural
// forms by CLDR category.
func findingsTable(t *testing.T, code string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(findingsDir + code + ".json")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s.json: %v", code, err)
	}
	return m
}

// englishFindings is the findings table as vault and almtest word it.
func englishFindings() map[string]any {
	out := map[string]any{}
	for _, code := range vault.Codes() {
		tx, _ := vault.TextOf(code)
		if tx.Count != "" {
			out[findingsPrefix+code] = map[string]any{"one": tx.Pick(1), "other": tx.Other}
		} else {
			out[findingsPrefix+code] = tx.Other
		}
	}
	return out
}

// TestFindingsEnglish: en.json is vault's and almtest's English, code for
// code (go test ./ui -run FindingsEnglish -update-findings rewrites it),
// so the English window says what calmkeyctl says. A code that is renamed
// or dropped shows here as a change to en.json.
func TestFindingsEnglish(t *testing.T) {
	want := englishFindings()
	if *updateFindings {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(want); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(findingsDir+"en.json", b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := findingsTable(t, "en")
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if g, _ := json.Marshal(got[k]); string(g) != mustJSON(want[k]) {
			t.Errorf("%s: en.json has %s, the code's English is %s (run with -update-findings)", k, g, mustJSON(want[k]))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("en.json has %s, which no code uses", k)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestFindingsGerman: every code has German, plural codes their "one" and
// "other", with the English placeholders, and German has no other keys.
func TestFindingsGerman(t *testing.T) {
	en, de := englishFindings(), findingsTable(t, "de")
	for _, k := range slices.Sorted(maps.Keys(en)) {
		enForms, deForms := textForms(en[k]), textForms(de[k])
		if len(deForms) == 0 {
			t.Errorf("%s: no German", k)
			continue
		}
		if !slices.Equal(slices.Sorted(maps.Keys(enForms)), slices.Sorted(maps.Keys(deForms))) {
			t.Errorf("%s: German forms %v, English %v", k, slices.Sorted(maps.Keys(deForms)), slices.Sorted(maps.Keys(enForms)))
		}
		for f, text := range deForms {
			if got, want := vault.Placeholders(text), vault.Placeholders(enForms[f]); !slices.Equal(got, want) {
				t.Errorf("%s (%s): German placeholders %v, English %v", k, f, got, want)
			}
			if strings.TrimSpace(text) == "" && strings.TrimSpace(enForms[f]) != "" {
				t.Errorf("%s (%s): empty German", k, f)
			}
		}
	}
	for k := range de {
		if _, ok := en[k]; !ok {
			t.Errorf("de.json has %s, which no code uses", k)
		}
	}
	if n := len(en); n < 100 {
		t.Errorf("only %d findings codes", n)
	}
	t.Logf("%d findings codes, each in English and German", len(en))
}

// textForms is a table value as its forms: "other" for a plain string.
func textForms(v any) map[string]string {
	switch v := v.(type) {
	case string:
		return map[string]string{"other": v}
	case map[string]any:
		out := map[string]string{}
		for f, s := range v {
			if s, ok := s.(string); ok {
				out[f] = s
			}
		}
		return out
	}
	return nil
}

// inLanguage speaks code for the test, and English after it.
func inLanguage(t *testing.T, code string) {
	t.Helper()
	if err := useLanguage(code); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = useLanguage(langEnglish) })
}

// TestFindingsInGerman: the format check's problems and warnings and a
// failed test step read in German, dates the German way, with plural
// forms; in English they read as calmkeyctl prints them.
func TestFindingsInGerman(t *testing.T) {
	ca := testkeys.NewCA(t)
	now := time.Now()
	chain, key := ca.Client(t, "acme", now.AddDate(0, 0, 3), testkeys.RSAPKCS1)
	x509 := testkeys.X509Key(testkeys.Fields{}, chain, key)
	k, err := vault.Parse(x509)
	if err != nil {
		t.Fatal(err)
	}
	var soon vault.Finding
	for _, w := range k.Warnings {
		if w.Code == "format.cert.soon" {
			soon = w
		}
	}
	_, err = vault.Parse([]byte(`{"endpoints": [], "uaa": {"clientid": 7}}`))
	var fe *vault.FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("not a format error: %v", err)
	}
	rep := almtest.Run(t.Context(), k, almtest.Options{Now: func() time.Time { return now.AddDate(0, 0, 10) }})
	failedStep := rep.Steps[0]
	day := now.AddDate(0, 0, 3).Format("02.01.2006")

	inLanguage(t, langEnglish)
	if got := findingLine(soon); got != soon.String() || !strings.Contains(got, "(in 3 days)") {
		t.Errorf("English warning %q, calmkeyctl says %q", got, soon.String())
	}
	if got := stepDetail(failedStep); got != failedStep.Detail {
		t.Errorf("English detail %q, calmkeyctl says %q", got, failedStep.Detail)
	}
	if got := routeText(netroute.Route{Kind: netroute.Proxy, Proxy: "proxy.corp:8080", Source: netroute.SourceWindows}); got != "via proxy.corp:8080 (Windows settings)" {
		t.Errorf("English route: %q", got)
	}
	if got := msgText(vault.M("expiry.inDays", "Days", "1")); got != "in 1 day" {
		t.Errorf("English, 1 day: %q", got)
	}

	inLanguage(t, langGerman)
	var lines []string
	for _, p := range fe.Problems {
		lines = append(lines, findingLine(p))
	}
	for _, want := range []string{"endpoints: muss ein JSON-Objekt sein, nicht eine Liste", "uaa.clientid: muss eine Zeichenkette sein, nicht eine Zahl"} {
		if !slices.Contains(lines, want) {
			t.Errorf("German problems lack %q:\n%s", want, strings.Join(lines, "\n"))
		}
	}
	if got, want := findingLine(soon), "uaa.certificate: Das Client-Zertifikat läuft am "+day+" ab (in 3 Tagen); planen Sie, den Schlüssel zu ersetzen"; got != want {
		t.Errorf("German warning:\n got %q\nwant %q", got, want)
	}
	if got := stepDetail(failedStep); !strings.Contains(got, "Das Client-Zertifikat des Schlüssels ist am "+day+" abgelaufen") {
		t.Errorf("German detail: %q", got)
	}
	if got := stepHint(failedStep); !strings.Contains(got, "SAP BTP Cockpit") || !strings.Contains(got, "Serviceschlüssel") {
		t.Errorf("German hint: %q", got)
	}
	for days, want := range map[string]string{"1": "in 1 Tag", "3": "in 3 Tagen"} {
		if got := msgText(vault.M("expiry.inDays", "Days", days)); got != want {
			t.Errorf("German, %s days: %q, want %q", days, got, want)
		}
	}
	winRoute := netroute.Route{Kind: netroute.Proxy, Proxy: "proxy.corp:8080", Source: netroute.SourceWindows}
	if got := routeText(winRoute); got != "über proxy.corp:8080 (Windows-Einstellungen)" {
		t.Errorf("German route: %q", got)
	}
	// A step recorded before codes existed keeps its English.
	old := almtest.Step{ID: almtest.StepAPI, Status: almtest.StatusFail, Detail: "the API at h answered HTTP 418"}
	if got := stepDetail(old); got != old.Detail {
		t.Errorf("old step: %q", got)
	}
}
