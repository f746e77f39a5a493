package ui

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"
	"github.com/jeandeaual/go-locale"
	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
)

// The window's words: one folder per area (window/, findings/, dialogs/,
// rotation/), each with en.json and de.json, so that each owner keeps a
// file of their own. fynelang holds copies of Fyne's own English and
// German tables (Cancel, Open, Yes…), which Fyne keeps private.
var (
	//go:embed translations
	translations embed.FS
	//go:embed fynelang
	fyneTables embed.FS
)

// The languages the window speaks; any other gives English.
const (
	langEnglish = "en"
	langGerman  = "de"
)

// prefLanguage keeps the user's choice in the window: "" (the system's),
// "de" or "en".
const prefLanguage = "language"

// current is the language SetupLanguage chose: dates follow it.
var current = langEnglish

// SetupLanguage makes the window and Fyne's own dialogs speak the
// language calmkey chose (see chooseLanguage) and returns it ("de" or
// "en"). Call it once, before any window text is made.
func SetupLanguage(a fyne.App) string {
	code := chooseLanguage(os.Getenv("CALMKEY_LANG"), a.Preferences().String(prefLanguage), systemLanguage)
	if err := useLanguage(code); err != nil {
		// The texts in the code (English) stand in.
		log.Printf("calmkey: the window's texts could not be loaded: %v", err)
	}
	return code
}

// chooseLanguage: CALMKEY_LANG (de or en) over the choice kept in the
// window over the system's display language; anything but German is
// English.
func chooseLanguage(env, pref string, system func() string) string {
	for _, v := range []string{env, pref} {
		if l := known(v); l != "" {
			return l
		}
	}
	if isGerman(system()) {
		return langGerman
	}
	return langEnglish
}

// known is v when it names one of the window's languages, else "".
func known(v string) string {
	switch v = strings.ToLower(strings.TrimSpace(v)); v {
	case langGerman, langEnglish:
		return v
	}
	return ""
}

// isGerman reports whether a locale name ("de_DE.UTF-8", "de-AT", "de")
// is German.
func isGerman(loc string) bool {
	loc = strings.ToLower(strings.TrimSpace(loc))
	return loc == "de" || strings.HasPrefix(loc, "de_") || strings.HasPrefix(loc, "de-") || strings.HasPrefix(loc, "de.")
}

// useLanguage makes lang speak code. Fyne's localizer is private: every
// AddTranslations* call matches the system's locales against the tags
// registered and speaks the closest one (English when none is close), and
// Fyne ships tables of its own (German, French…). So the chosen tables,
// Fyne's strings and calmkey's together, are registered under the tag
// Fyne picks here (fyneTags), which then speaks the chosen language.
// Registering again overwrites, so a later call changes the language of
// texts made after it.
func useLanguage(code string) error {
	data, err := table(code)
	if err != nil {
		return err
	}
	current = code
	for _, tag := range fyneTags() {
		d := data
		if !oneOtherPlurals(tag) {
			if d, err = withAllPluralForms(data); err != nil {
				return err
			}
		}
		if err := lang.AddTranslationsForLocale(d, fyne.Locale(tag)); err != nil {
			return fmt.Errorf("registering %s for %s: %w", code, tag, err)
		}
	}
	return nil
}

// fyneTags are the tags Fyne's localizer will pick here: the system's first
// locale that Fyne can read, which is its exact match once registered, and
// the shorter form Fyne looks that up by when it has three parts
// (zh-Hans-CN: zh-Hans); English when the system names none.
func fyneTags() []string {
	locs, _ := locale.GetLocales()
	for _, l := range locs {
		if _, err := language.Parse(l); err != nil || l == "" {
			continue
		}
		tags := []string{l}
		if short := fyne.Locale(l).LanguageString(); short != l {
			tags = append(tags, short)
		}
		return tags
	}
	return []string{langEnglish}
}

// oneOtherPlurals reports whether tag's language has the plural forms of
// English and German (one, other): then the tables serve as they are.
func oneOtherPlurals(tag string) bool {
	t := language.Make(tag)
	for _, n := range []int{0, 1, 2, 3, 5, 11, 21, 101} {
		if f := plural.Cardinal.MatchPlural(t, n, 0, 0, 0, 0); f != plural.One && f != plural.Other {
			return false
		}
	}
	return true
}

// pluralForms are the CLDR plural categories.
var pluralForms = []string{"zero", "one", "two", "few", "many", "other"}

// withAllPluralForms is a table for a language with other plural forms
// (Czech asks for "few"): every plural text gets every form, those not
// given taking "other".
func withAllPluralForms(data []byte) ([]byte, error) {
	all := map[string]any{}
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, err
	}
	for _, v := range all {
		if forms, ok := v.(map[string]any); ok && forms["other"] != nil {
			for _, f := range pluralForms {
				if forms[f] == nil {
					forms[f] = forms["other"]
				}
			}
		}
	}
	return json.Marshal(all)
}

// table is one JSON table of code's texts: Fyne's own and every area's,
// their objects joined (a key given twice takes the later text). Joined
// rather than decoded and encoded again: this runs at every start.
func table(code string) ([]byte, error) {
	names := []string{"fynelang/" + code + ".json"}
	areas, err := fs.ReadDir(translations, "translations")
	if err != nil {
		return nil, err
	}
	for _, a := range areas {
		if a.IsDir() {
			names = append(names, path.Join("translations", a.Name(), code+".json"))
		}
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, name := range names {
		fsys := fs.FS(translations)
		if i == 0 {
			fsys = fyneTables
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		inner := bytes.TrimSpace(data)
		if len(inner) < 2 || inner[0] != '{' || inner[len(inner)-1] != '}' {
			return nil, fmt.Errorf("%s is not a JSON object", name)
		}
		if inner = bytes.TrimSpace(inner[1 : len(inner)-1]); len(inner) == 0 {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.Write(inner)
	}
	b.WriteByte('}')
	if !json.Valid(b.Bytes()) {
		return nil, fmt.Errorf("the %s tables are not valid JSON", code)
	}
	return b.Bytes(), nil
}

// Time layouts the window shows: German 28.11.2026 09:14, English
// 2026-11-28 09:14, each with the zone named as vault.FormatTime names it.
const (
	timeLayoutEnglish = "2006-01-02 15:04 MST"
	timeLayoutGerman  = "02.01.2006 15:04 MST"
)

// formatTime is every time the window shows: local, to the minute, in the
// window's language, the zone named; vault's Unknown, in the window's
// words, for the zero time. calmkeyctl keeps vault.FormatTime.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return lang.X("window.time.unknown", "unknown")
	}
	return t.Local().Format(timeLayout())
}

func timeLayout() string {
	if current == langGerman {
		return timeLayoutGerman
	}
	return timeLayoutEnglish
}

// dateLayout is a day without its time, in the window's language.
func dateLayout() string {
	if current == langGerman {
		return "02.01.2006"
	}
	return "2006-01-02"
}

// capitalized is text with its first letter in upper case, for a text
// that starts with a part put in ("another program…").
func capitalized(text string) string {
	r, n := utf8.DecodeRuneInString(text)
	if n == 0 {
		return text
	}
	return string(unicode.ToUpper(r)) + text[n:]
}
