package ui

import (
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// languageChoice is the footer's choice of the window's language: the
// system's, Deutsch or English, kept in the app's preferences. Fyne's
// widgets take their words when they are made, so the choice shows from
// the next start, and the choice says so.
type languageChoice struct {
	prefs fyne.Preferences
	env   func(string) string
	sel   *widget.Select
	note  *widget.Label
	box   fyne.CanvasObject
}

// The choice's options; each language is named in its own words.
const (
	optionGerman  = "Deutsch"
	optionEnglish = "English"
)

func languageSystem() string { return lang.X("window.language.system", "System") }

func newLanguageChoice(prefs fyne.Preferences) *languageChoice {
	c := &languageChoice{prefs: prefs, env: os.Getenv}
	c.sel = widget.NewSelect([]string{languageSystem(), optionGerman, optionEnglish}, nil)
	switch known(prefs.String(prefLanguage)) {
	case langGerman:
		c.sel.SetSelected(optionGerman)
	case langEnglish:
		c.sel.SetSelected(optionEnglish)
	default:
		c.sel.SetSelected(languageSystem())
	}
	c.sel.OnChanged = c.onChanged
	c.note = &widget.Label{SizeName: theme.SizeNameCaptionText, Importance: widget.WarningImportance, Truncation: fyne.TextTruncateEllipsis}
	c.note.Hide()
	label := &widget.Label{Text: lang.X("window.language.label", "Language:"), SizeName: theme.SizeNameCaptionText}
	c.box = container.NewBorder(nil, nil, nil, container.NewHBox(label, c.sel), c.note)
	return c
}

// onChanged keeps the choice and says when it shows.
func (c *languageChoice) onChanged(option string) {
	code := ""
	switch option {
	case optionGerman:
		code = langGerman
	case optionEnglish:
		code = langEnglish
	}
	c.prefs.SetString(prefLanguage, code)
	env := c.env("CALMKEY_LANG")
	switch {
	case known(env) != "":
		c.note.SetText(lang.X("window.language.env", "CALMKEY_LANG={{.Value}} sets the language while it is set.", map[string]any{"Value": env}))
	case chooseLanguage("", code, systemLanguage) != current:
		c.note.SetText(lang.X("window.language.restart", "The new language shows when calmkey starts next."))
	default:
		c.note.Hide()
		return
	}
	c.note.Show()
}
