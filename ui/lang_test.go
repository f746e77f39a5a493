package ui

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/lang"
)

// TestMain makes the package's tests speak English whatever the system's
// language, as their assertions do; the German tests switch and back.
func TestMain(m *testing.M) {
	if err := useLanguage(langEnglish); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

// inGerman makes lang speak German until the test ends.
func inGerman(t *testing.T) {
	t.Helper()
	if err := useLanguage(langGerman); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := useLanguage(langEnglish); err != nil {
			t.Error(err)
		}
	})
}

func TestChooseLanguage(t *testing.T) {
	for _, tc := range []struct {
		env, pref, system, want string
	}{
		{"", "", "de_DE.UTF-8", "de"},
		{"", "", "de-AT", "de"},
		{"", "", "de", "de"},
		{"", "", "en-US", "en"},
		{"", "", "fr_FR.UTF-8", "en"},
		{"", "", "dsb-DE", "en"}, // Lower Sorbian is not German
		{"", "", "", "en"},
		{"", "", "C", "en"},
		{"", "en", "de_DE.UTF-8", "en"},
		{"", "de", "en_US.UTF-8", "de"},
		{"", "fr", "de_DE.UTF-8", "de"}, // an unknown preference counts as the system's
		{"en", "de", "de_DE.UTF-8", "en"},
		{"de", "en", "en_US.UTF-8", "de"},
		{" DE ", "", "en", "de"},
		{"fr", "", "de-CH", "de"}, // CALMKEY_LANG other than de or en is ignored
	} {
		if got := chooseLanguage(tc.env, tc.pref, func() string { return tc.system }); got != tc.want {
			t.Errorf("CALMKEY_LANG=%q, preference %q, system %q: %q, want %q", tc.env, tc.pref, tc.system, got, tc.want)
		}
	}
}

// Fyne's localizer speaks the closest of its tables to the system's
// locales (German on a German system, French on a French one); the chosen
// language wins over it, for calmkey's texts, Fyne's own (Cancel) and
// plural forms alike.
func TestChosenLanguageWinsOverFynes(t *testing.T) {
	t.Cleanup(func() { _ = useLanguage(langEnglish) })
	for _, system := range []string{"en_US.UTF-8", "de_DE.UTF-8", "fr_FR.UTF-8", "cs_CZ.UTF-8", "pt_BR.UTF-8", "zh_CN.UTF-8", "C", "fr_FR:de_DE"} {
		// A list goes to LANGUAGE, which Fyne reads before LC_ALL.
		t.Setenv("LC_ALL", system)
		t.Setenv("LANGUAGE", "")
		if strings.Contains(system, ":") {
			t.Setenv("LC_ALL", "de_DE.UTF-8")
			t.Setenv("LANGUAGE", system)
		}
		for _, tc := range []struct {
			code, cancel, test, days2, days5 string
		}{
			{langGerman, "Abbrechen", "Testen", "in 2 Tagen", "in 5 Tagen"},
			{langEnglish, "Cancel", "Test", "in 2 days", "in 5 days"},
		} {
			if err := useLanguage(tc.code); err != nil {
				t.Fatal(err)
			}
			got := []string{
				lang.L("Cancel"),
				lang.X("window.button.test", "Test"),
				expiryWhenDays(2),
				expiryWhenDays(5),
			}
			want := []string{tc.cancel, tc.test, tc.days2, tc.days5}
			if !slices.Equal(got, want) {
				t.Errorf("system %s, chosen %s: %q, want %q", system, tc.code, got, want)
			}
		}
	}
}

func TestFormatTimeFollowsLanguage(t *testing.T) {
	at := time.Date(2026, 11, 28, 9, 14, 0, 0, time.Local)
	zone := at.Format("MST")
	if got, want := formatTime(at), "2026-11-28 09:14 "+zone; got != want {
		t.Errorf("English: %q, want %q", got, want)
	}
	if got := formatTime(time.Time{}); got != "unknown" {
		t.Errorf("English zero time: %q", got)
	}
	inGerman(t)
	if got, want := formatTime(at), "28.11.2026 09:14 "+zone; got != want {
		t.Errorf("German: %q, want %q", got, want)
	}
	if got := formatTime(time.Time{}); got != "unbekannt" {
		t.Errorf("German zero time: %q", got)
	}
}

// A choice in the window is kept, and says it shows from the next start;
// CALMKEY_LANG, when set, says it decides.
func TestLanguageChoiceKeptForNextStart(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.load()
	c := f.w.foot.language
	if c.sel.Selected != languageSystem() || c.box.Visible() == false {
		t.Fatalf("the choice shows %q (visible %v), want the system's", c.sel.Selected, c.box.Visible())
	}
	c.env = func(string) string { return "" }
	other, code := optionGerman, langGerman
	if current == langGerman {
		other, code = optionEnglish, langEnglish
	}
	c.sel.SetSelected(other)
	if got := f.app.Preferences().String(prefLanguage); got != code {
		t.Errorf("kept %q, want %q", got, code)
	}
	mustContain(t, "note", c.note.Text, "next")
	if !c.note.Visible() {
		t.Error("the note that the language changes at the next start is hidden")
	}
	c.env = func(string) string { return "en" }
	c.sel.SetSelected(languageSystem())
	if got := f.app.Preferences().String(prefLanguage); got != "" {
		t.Errorf("kept %q for the system's language", got)
	}
	mustContain(t, "note", c.note.Text, "CALMKEY_LANG=en")

	// The next start reads it back.
	f.app.Preferences().SetString(prefLanguage, langGerman)
	if c2 := newLanguageChoice(f.app.Preferences()); c2.sel.Selected != optionGerman {
		t.Errorf("a new window shows %q, want %q", c2.sel.Selected, optionGerman)
	}
}

func expiryWhenDays(days int) string {
	return lang.XN("window.expiry.inDays", "in {{.Days}} days", days, map[string]any{"Days": days})
}

// use is one lang.X or lang.XN call in ui's code.
type use struct {
	key, fallback, at string
	plural            bool
}

// codeUses are the lang.X and lang.XN calls in ui's code, and every
// string literal there (a key may sit in a table of keys).
func codeUses(t *testing.T) (uses []use, literals map[string]bool) {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	literals = map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					literals[s] = true
				}
			}
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || len(call.Args) < 2 {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "lang" || (sel.Sel.Name != "X" && sel.Sel.Name != "XN") {
				return true
			}
			key, kok := constString(call.Args[0])
			fallback, fok := constString(call.Args[1])
			if !kok || !fok {
				t.Logf("%s: a lang.%s call with a key or fallback made at run time; its texts are not checked", fset.Position(call.Pos()), sel.Sel.Name)
				return true
			}
			uses = append(uses, use{key: key, fallback: fallback, at: fset.Position(call.Pos()).String(), plural: sel.Sel.Name == "XN"})
			return true
		})
	}
	return uses, literals
}

// constString is e's value when it is a string literal or literals joined
// with +.
func constString(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		a, aok := constString(e.X)
		b, bok := constString(e.Y)
		return a + b, aok && bok
	}
	return "", false
}

// areaTables are ui/translations' tables: area -> language -> key -> text
// (a string, or plural forms).
func areaTables(t *testing.T) map[string]map[string]map[string]any {
	t.Helper()
	areas, err := fs.ReadDir(translations, "translations")
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]map[string]map[string]any{}
	for _, a := range areas {
		if !a.IsDir() {
			t.Errorf("translations/%s: only folders (one per area) belong there", a.Name())
			continue
		}
		all[a.Name()] = map[string]map[string]any{}
		for _, code := range []string{langEnglish, langGerman} {
			data, err := fs.ReadFile(translations, path.Join("translations", a.Name(), code+".json"))
			if err != nil {
				t.Errorf("area %s has no %s.json: %v", a.Name(), code, err)
				continue
			}
			m := map[string]any{}
			if err := json.Unmarshal(data, &m); err != nil {
				t.Errorf("translations/%s/%s.json: %v", a.Name(), code, err)
			}
			all[a.Name()][code] = m
		}
	}
	return all
}

// forms are a text's forms: one for a plain text, each plural form's.
func forms(v any) map[string]string {
	switch v := v.(type) {
	case string:
		return map[string]string{"other": v}
	case map[string]any:
		out := map[string]string{}
		for k, s := range v {
			out[k], _ = s.(string)
		}
		return out
	}
	return nil
}

var placeholderRE = regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)

// placeholders are the names of text's placeholders, sorted, each once.
func placeholders(text string) []string {
	var names []string
	for _, m := range placeholderRE.FindAllStringSubmatch(text, -1) {
		names = append(names, m[1])
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// dynamic reports whether key may be made at run time: a string in the
// code that ends in a dot ("findings.") starts it. Such keys are their
// area's owner's to check against the codes that make them.
func dynamic(key string, literals map[string]bool) bool {
	for l := range literals {
		if len(l) > 3 && strings.HasSuffix(l, ".") && strings.HasPrefix(key, l) {
			return true
		}
	}
	return false
}

// Every key the code uses has an English and a German text; the English
// text is the code's fallback; every text is used; the placeholders match
// between the code and both languages; each key sits in its area's table.
func TestTranslationsComplete(t *testing.T) {
	uses, literals := codeUses(t)
	tables := areaTables(t)
	if len(uses) < 100 {
		t.Fatalf("only %d lang.X/XN calls found in ui; is the scan broken?", len(uses))
	}
	used := map[string]bool{}
	for _, u := range uses {
		used[u.key] = true
		area, _, _ := strings.Cut(u.key, ".")
		table := tables[area]
		if table == nil {
			t.Errorf("%s: key %q: no area %q in translations", u.at, u.key, area)
			continue
		}
		for _, code := range []string{langEnglish, langGerman} {
			v, ok := table[code][u.key]
			if !ok {
				t.Errorf("%s: key %q has no text in translations/%s/%s.json", u.at, u.key, area, code)
				continue
			}
			fs := forms(v)
			if len(fs) == 0 || fs["other"] == "" {
				t.Errorf("%s: key %q in %s: no text", u.at, u.key, code)
			}
			if _, isPlural := v.(map[string]any); isPlural != u.plural {
				t.Errorf("%s: key %q in %s: plural forms %v, but the code calls lang.X%s", u.at, u.key, code, isPlural, map[bool]string{true: "N", false: ""}[u.plural])
			}
			for form, text := range fs {
				if got, want := placeholders(text), placeholders(u.fallback); !slices.Equal(got, want) {
					t.Errorf("key %q, %s %s form: placeholders %v, the code's %v", u.key, code, form, got, want)
				}
			}
			if code == langEnglish && fs["other"] != u.fallback {
				t.Errorf("%s: key %q: en.json says %q, the code's fallback %q", u.at, u.key, fs["other"], u.fallback)
			}
		}
	}
	for area, table := range tables {
		for code, texts := range table {
			for key := range texts {
				if !used[key] && !literals[key] && !dynamic(key, literals) {
					t.Errorf("translations/%s/%s.json: %q is not used in ui's code", area, code, key)
				}
				if !strings.HasPrefix(key, area+".") {
					t.Errorf("translations/%s/%s.json: %q is not in area %s", area, code, key, area)
				}
			}
		}
		for key := range table[langGerman] {
			if _, ok := table[langEnglish][key]; !ok {
				t.Errorf("translations/%s: %q has German but no English", area, key)
			}
		}
	}
	t.Logf("%d keys used in the code", len(used))
}

// fyneTables are copies of Fyne's own tables: they must match the Fyne in
// go.mod, or Fyne's strings would fall back to English in a German window.
func TestFyneTablesMatchFyne(t *testing.T) {
	dir := fyneModuleDir(t)
	for _, code := range []string{langEnglish, langGerman} {
		ours, err := fs.ReadFile(fyneTables, "fynelang/"+code+".json")
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := os.ReadFile(filepath.Join(dir, "lang", "translations", "base."+code+".json"))
		if err != nil {
			t.Skipf("Fyne's sources are not in the module cache: %v", err)
		}
		if string(ours) != string(theirs) {
			t.Errorf("ui/fynelang/%s.json differs from Fyne's base.%s.json: copy it again", code, code)
		}
	}
}

// fyneModuleDir is Fyne's folder in the module cache, as go.mod names it.
func fyneModuleDir(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*fyne\.io/fyne/v2 (v\S+)`).FindSubmatch(data)
	if m == nil {
		t.Fatal("go.mod names no fyne.io/fyne/v2")
	}
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		gopath := os.Getenv("GOPATH")
		if gopath == "" {
			home, _ := os.UserHomeDir()
			gopath = filepath.Join(home, "go")
		}
		cache = filepath.Join(filepath.SplitList(gopath)[0], "pkg", "mod")
	}
	return filepath.Join(cache, "fyne.io", "fyne", "v2@"+string(m[1]))
}

// BenchmarkUseLanguage is what choosing the language adds to the start:
// merging the tables and registering them with Fyne for each tag.
func BenchmarkUseLanguage(b *testing.B) {
	b.Cleanup(func() { _ = useLanguage(langEnglish) })
	for _, code := range []string{langEnglish, langGerman} {
		b.Run(code, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := useLanguage(code); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
