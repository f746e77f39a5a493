package ui

import (
	"context"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
)

var (
	wordRE = regexp.MustCompile(`\p{L}+`)
	// valueRE finds what is a value, not words: URLs and paths.
	valueRE = regexp.MustCompile(`[a-z]+://\S+|(?:[A-Za-z]:)?[/\\]\S*`)
	// cutWordRE is a word cut short by an ellipsis.
	cutWordRE = regexp.MustCompile(`\p{L}+…`)
)

// words are the words of text in lower case, placeholders, URLs and paths
// left out.
func words(text string) []string {
	text = placeholderRE.ReplaceAllString(text, " ")
	text = valueRE.ReplaceAllString(text, " ")
	var ws []string
	for _, w := range wordRE.FindAllString(text, -1) {
		ws = append(ws, strings.ToLower(w))
	}
	return ws
}

// tableWords are the words of every text in the tables of code: Fyne's
// and every area's.
func tableWords(t *testing.T, code string) map[string]bool {
	t.Helper()
	set := map[string]bool{}
	addAll := func(data []byte) {
		// Keys and texts alike: a key is never shown, so counting its words
		// as the language's only makes the check more lenient, never wrong.
		for _, w := range words(string(data)) {
			set[w] = true
		}
	}
	data, err := fs.ReadFile(fyneTables, "fynelang/"+code+".json")
	if err != nil {
		t.Fatal(err)
	}
	addAll(data)
	areas, err := fs.ReadDir(translations, "translations")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range areas {
		data, err := fs.ReadFile(translations, path.Join("translations", a.Name(), code+".json"))
		if err != nil {
			t.Fatal(err)
		}
		addAll(data)
	}
	return set
}

// englishOnly are the words of the English tables that the German tables
// do not use: a German window shows none of them.
func englishOnly(t *testing.T) map[string]bool {
	t.Helper()
	en, de := tableWords(t, langEnglish), tableWords(t, langGerman)
	only := map[string]bool{}
	for w := range en {
		if !de[w] {
			only[w] = true
		}
	}
	return only
}

// shown is every text the window shows now: its title, and every text
// drawn in its content and its dialogs, with the sections' titles and the
// choices of radio groups and selects.
func shown(f *fixture) []string {
	out := []string{f.win.Title()}
	objs := test.LaidOutObjects(f.win.Content())
	for _, o := range f.win.Canvas().Overlays().List() {
		objs = append(objs, test.LaidOutObjects(o)...)
	}
	for _, o := range objs {
		if !o.Visible() {
			continue
		}
		switch o := o.(type) {
		case *canvas.Text:
			if !o.TextStyle.Monospace {
				// A label cut short to its width ends in a part of a word.
				out = append(out, cutWordRE.ReplaceAllString(o.Text, " "))
			}
		case *widget.Label:
			if !o.TextStyle.Monospace { // the key itself, in the key display
				out = append(out, o.Text)
			}
		case *widget.Button:
			out = append(out, o.Text)
		case *widget.RadioGroup:
			out = append(out, o.Options...)
		case *widget.Select:
			out = append(out, o.Options...)
		case *widget.Accordion:
			for _, it := range o.Items {
				out = append(out, it.Title)
			}
		}
	}
	return out
}

// germanCheck collects what the window shows in each state and reports
// the English words among it.
type germanCheck struct {
	t       *testing.T
	english map[string]bool
	found   map[string][]string // English word -> where, with the text
	states  int
}

func (c *germanCheck) look(f *fixture, state string) {
	c.t.Helper()
	c.states++
	for _, text := range shown(f) {
		for _, w := range words(text) {
			if c.english[w] {
				c.found[w] = append(c.found[w], state+": "+text)
			}
		}
	}
}

func (c *germanCheck) report() {
	c.t.Helper()
	var ws []string
	for w := range c.found {
		ws = append(ws, w)
	}
	sort.Strings(ws)
	for _, w := range ws {
		c.t.Errorf("English %q shows in the German window, in %q", w, c.found[w][0])
	}
}

// closeDialogs takes every dialog off the window.
func closeDialogs(f *fixture) {
	ov := f.win.Canvas().Overlays()
	for top := ov.Top(); top != nil; top = ov.Top() {
		ov.Remove(top)
	}
}

// The check finds English: in an English window it does.
func TestEnglishWindowFailsTheGermanCheck(t *testing.T) {
	c := &germanCheck{t: t, english: englishOnly(t), found: map[string][]string{}}
	f := newFixture(t, fixtureOpts{})
	f.load()
	c.look(f, "English, no key")
	if len(c.found) < 10 {
		t.Errorf("an English window shows only %d English-only words: %v", len(c.found), c.found)
	}
}

// With German chosen, the whole window (keys in every state, every dialog
// open in turn) shows no word that only the English tables use. Tenant
// names and key values are no such words.
func TestGermanWindowShowsNoEnglish(t *testing.T) {
	inGerman(t)
	c := &germanCheck{t: t, english: englishOnly(t), found: map[string][]string{}}
	germanEmptyAndFailed(t, c)
	f := germanTenants(t, c)
	germanDialogs(t, c, f)
	germanTestRun(t, c, f)
	c.report()
	if c.states < 20 {
		t.Errorf("only %d states looked at", c.states)
	}
}

// germanEmptyAndFailed: the window loading, with no key, and with the
// keychain out of reach.
func germanEmptyAndFailed(t *testing.T, c *germanCheck) {
	f := newFixture(t, fixtureOpts{})
	c.look(f, "loading")
	f.load()
	c.look(f, "no key")
	f.app.Clipboard().SetContent(" ")
	test.Tap(f.w.bar.paste)
	c.look(f, "empty clipboard")
	closeDialogs(f)
	f.w.foot.language.env = func(string) string { return "" }
	f.w.foot.language.sel.SetSelected(optionEnglish)
	c.look(f, "language chosen")
	f.w.foot.language.env = func(string) string { return "de" }
	f.w.foot.language.sel.SetSelected(optionGerman)
	c.look(f, "language set by CALMKEY_LANG")

	quiet(t)
	g := newFixture(t, fixtureOpts{})
	g.backend.FailOn("", vault.ErrUnavailable)
	g.load()
	c.look(g, "keychain out of reach")
}

// germanTenants is a window with a key in each state: tested and working,
// rejected, an x509 key whose certificate ends soon, one stored under a
// name that is not a valid tenant name, a damaged one; each section open
// in turn.
func germanTenants(t *testing.T, c *germanCheck) *fixture {
	f := newFixture(t, fixtureOpts{})
	ok := f.storeKey(testkeys.SecretKey(testkeys.Fields{Tenant: "alpha-dev", ClientID: "sb-alpha!b1|sapcloudalm!b16907"}), "alpha.txt")
	bad := f.storeKey(testkeys.SecretKey(testkeys.Fields{Tenant: "beta-test", ClientID: "sb-beta!b1|sapcloudalm!b16907"}), "")
	ca := testkeys.NewCA(t)
	chain, keyPEM := ca.Client(t, testkeys.ClientID, time.Now().AddDate(0, 0, 10), testkeys.RSAPKCS1)
	f.storeKey(testkeys.X509Key(testkeys.Fields{Tenant: "zeta-prod"}, chain, keyPEM), "zeta.json")
	f.storeAsEarlier(testkeys.SecretKey(testkeys.Fields{Tenant: "\u0430cme-prod", UAAURL: "https://acme-prod.authentication.eu10.hana.ondemand.com"}), "old.txt")
	f.storeKey(testkeys.SecretKey(testkeys.Fields{Tenant: "omega-qa", ClientID: "sb-omega!b1|sapcloudalm!b16907"}), "")
	if err := f.backend.Set(testService, vault.PartItem("omega-qa", 1), "garbage"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct {
		key *vault.Key
		rep *almtest.Report
	}{{ok, okReport()}, {bad, rejectedReport()}} {
		st, err := f.store.Load(context.Background(), k.key.Tenant)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.history.Record(context.Background(), almtest.NewLastTest(st, k.rep)); err != nil {
			t.Fatal(err)
		}
	}
	f.load()
	if len(f.w.secs.all) != 5 {
		t.Fatalf("sections %q, want 5", tenantsOf(f))
	}
	for _, sec := range f.w.secs.all {
		f.w.secs.openOnly(sec)
		c.look(f, "section "+sec.tenant)
	}
	return f
}

// germanDialogs opens every dialog in turn, on f's sections.
func germanDialogs(t *testing.T, c *germanCheck, f *fixture) {
	alpha := f.w.secs.byTenant("alpha-dev")
	f.w.secs.openOnly(alpha)
	f.tap(alpha.row.displayButton)
	c.look(f, "display")
	test.Tap(f.w.dialogs.display.reveal)
	test.Tap(f.w.dialogs.display.copySecret)
	c.look(f, "display revealed, secret copied")
	closeDialogs(f)

	f.tap(alpha.row.deleteButton)
	c.look(f, "delete")
	closeDialogs(f)
	damaged := f.w.secs.byTenant("omega-qa")
	f.tap(damaged.row.deleteButton)
	c.look(f, "delete damaged")
	closeDialogs(f)

	test.Tap(alpha.row.downloadButton)
	f.pumpUntil("the download dialog", func() bool { return f.w.dialogs.download != nil })
	c.look(f, "download")
	d := f.w.dialogs.download
	for _, name := range []string{"", "..", "a/b", "a\u200bb"} {
		d.name.SetText(name)
		d.onSave()
		c.look(f, "download, name "+name)
	}
	existing := filepath.Join(t.TempDir(), "da.txt")
	if err := os.WriteFile(existing, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	closeDialogs(f)
	f.w.placeDownload(alpha, existing, false)
	f.pumpUntil("the question whether to replace", func() bool { return f.w.dialogs.download.replace != nil })
	c.look(f, "replace the file")
	closeDialogs(f)

	f.app.Clipboard().SetContent(string(testkeys.SecretKey(testkeys.Fields{Tenant: "kappa-dev", Type: "-"})))
	test.Tap(f.w.bar.paste)
	f.pumpUntil("the confirmation", func() bool { return f.w.dialogs.upload != nil })
	c.look(f, "store this key")
	closeDialogs(f)
	f.app.Clipboard().SetContent(`{"uaa": {"clientid": "x"}}`)
	test.Tap(f.w.bar.paste)
	f.pumpUntil("the problems", func() bool { return f.w.dialogs.problems != nil })
	c.look(f, "not a valid key")
	closeDialogs(f)
	f.app.Clipboard().SetContent(string(testkeys.SecretKey(testkeys.Fields{Tenant: "alpha-dev"})))
	test.Tap(f.w.bar.paste)
	f.pumpUntil("the offer to replace", func() bool { return f.w.dialogs.replace != nil })
	c.look(f, "tenant has a key: replace it?")
	closeDialogs(f)

	test.Tap(f.w.bar.proxy)
	p := f.w.dialogs.proxy
	c.look(f, "proxy")
	p.choice.SetSelected(proxyURL())
	p.entry.SetText("")
	p.onSaveTapped()
	c.look(f, "proxy without address")
	p.entry.SetText("http://alice:pw@proxy.example:8080")
	p.onSaveTapped()
	c.look(f, "proxy with a password")
	closeDialogs(f)

	f.w.dialogs.pleaseWait()
	c.look(f, "please wait")
	closeDialogs(f)
	f.w.dialogs.offerRetry(notStoredTitle(), notStoredText(vault.ErrBusy), func() {})
	c.look(f, "try again")
	closeDialogs(f)
	f.w.dialogs.tell("Titel", "Text")
	c.look(f, "information")
	closeDialogs(f)
	f.w.line.news = changes{"alpha-dev": replaced, "beta-test": vanished, "": appeared}.news()
	f.w.render()
	c.look(f, "news of another program")
	f.w.line.news = ""
}

// Fyne's own file dialog (the one used where the system has none) speaks
// German too, from Fyne's German table: Öffnen, Abbrechen.
func TestGermanFyneFileDialog(t *testing.T) {
	inGerman(t)
	f := newFixture(t, fixtureOpts{})
	fresh := newWindow(f.app, f.win, Deps{Store: f.store}, f.w.do)
	t.Cleanup(fresh.onClosed)
	fresh.seam.openFile(func(fyne.URIReadCloser, error) {})
	if !f.overlayShown() {
		t.Fatal("the file-open dialog did not show")
	}
	// Its list shows the folder's entries, whose names are no words to check.
	got := strings.Join(shown(f), "\n")
	mustContain(t, "the file-open dialog", got, "Öffnen", "Abbrechen")
	mustNotContain(t, "the file-open dialog", got, "Cancel")
}

// germanTestRun: a test waiting, running, being cancelled, and one that
// could not run.
func germanTestRun(t *testing.T, c *germanCheck, f *fixture) {
	release := make(chan struct{})
	f.w.tests.run = func(ctx context.Context, _ *vault.Key, _ almtest.Options) *almtest.Report {
		select {
		case <-ctx.Done():
		case <-release:
		}
		return nil
	}
	alpha := f.w.secs.byTenant("alpha-dev")
	f.w.secs.openOnly(alpha)
	f.tap(alpha.row.testButton)
	c.look(f, "test waiting")
	f.pumpUntil("the test to start", func() bool { return strings.TrimSpace(alpha.activity.text.Text) != "" })
	c.look(f, "testing")
	test.Tap(alpha.activity.cancel)
	c.look(f, "cancelling")
	f.pumpUntil("the test to end", func() bool { return alpha.running == nil })
	f.tap(alpha.row.testButton)
	close(release)
	f.pumpUntil("the test to end", func() bool { return alpha.running == nil })
	c.look(f, "test gave no result")
}
