package ui

import (
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/calmkey/calmkey/vault"
)

// displayDialog shows a tenant's stored key as JSON, masked until the user chooses
// Reveal, with copy buttons for what admins paste into a managed system.
// It closes when another program deletes or replaces the key.
type displayDialog struct {
	clip     *clipboard
	key      *vault.Key
	revealed bool
	open     bool

	json                                            *widget.Label
	reveal                                          *widget.Button
	copyTokenURL, copyClientID, copySecret, copyAPI *widget.Button
	copied                                          *widget.Label
	dialog                                          *dialog.CustomDialog
}

// onDisplay reads the keychain again, then shows the key: a key deleted or
// replaced underneath is never shown.
func (w *window) onDisplay(sec *section) {
	if sec.stored == nil {
		return
	}
	w.whenFresh(sec, lang.X("window.undone.display", "Nothing was displayed."), func() {
		if sec.stored == nil {
			return
		}
		v := newDisplayDialog(w.win, sec.stored.Key, w.clip)
		w.dialogs.display = v
		tracked(v.dialog, &v.open)
		v.dialog.Show()
		v.dialog.Resize(fyne.NewSize(720, 520))
	})
}

func newDisplayDialog(parent fyne.Window, key *vault.Key, clip *clipboard) *displayDialog {
	v := &displayDialog{clip: clip, key: key}
	v.json = &widget.Label{Text: string(key.JSON(false)), TextStyle: fyne.TextStyle{Monospace: true}}
	v.reveal = &widget.Button{Text: lang.X("window.display.reveal", "Reveal secrets"), Icon: theme.VisibilityIcon(), OnTapped: v.onReveal}
	copyButton := func(what, text string, secret bool) *widget.Button {
		return &widget.Button{Text: what, Icon: theme.ContentCopyIcon(), OnTapped: func() { v.onCopy(what, text, secret) }}
	}
	v.copyTokenURL = copyButton(factLabel(vault.FactTokenURL), key.TokenURL(), false)
	v.copyClientID = copyButton(factLabel(vault.FactClientID), key.ClientID, false)
	v.copySecret = copyButton(lang.X("window.display.clientSecret", "Client secret"), key.ClientSecret(), true)
	v.copyAPI = copyButton(factLabel(vault.FactAPIEndpoint), key.APIEndpoint, false)
	v.copied = &widget.Label{Wrapping: fyne.TextWrapWord}
	v.copied.Hide()
	note := ""
	if !key.CredentialType.IsSecret() {
		v.copySecret.Disable()
		note = lang.X("window.display.noSecret", "This x509 key has no client secret: it logs on with its certificate and private key.")
	}

	copyRow := container.NewHBox(widget.NewLabel(lang.X("window.display.copy", "Copy:")), v.copyTokenURL, v.copyClientID, v.copySecret, v.copyAPI)
	top := container.NewVBox(copyRow, v.copied)
	if note != "" {
		top.Add(wrapped(note))
	}
	body := container.NewBorder(top, container.NewHBox(v.reveal), nil, nil, container.NewScroll(v.json))
	v.dialog = dialog.NewCustom(lang.X("window.display.title", "Service key of {{.Tenant}}", map[string]any{"Tenant": shortName(key.Tenant)}), lang.X("window.button.close", "Close"), body, parent)
	return v
}

// onReveal toggles between the masked and the full JSON.
func (v *displayDialog) onReveal() {
	v.revealed = !v.revealed
	v.json.SetText(string(v.key.JSON(v.revealed)))
	if v.revealed {
		v.reveal.SetText(lang.X("window.display.hide", "Hide secrets"))
		v.reveal.SetIcon(theme.VisibilityOffIcon())
	} else {
		v.reveal.SetText(lang.X("window.display.reveal", "Reveal secrets"))
		v.reveal.SetIcon(theme.VisibilityIcon())
	}
}

// onCopy puts text on the clipboard. A secret is taken off it again after
// clearAfter, unless the user has copied something else meanwhile.
func (v *displayDialog) onCopy(what, text string, secret bool) {
	v.clip.copy(text, secret)
	if !secret {
		v.setCopied(lang.X("window.display.copied", "{{.What}} copied.", map[string]any{"What": what}))
		return
	}
	v.setCopied(lang.X("window.display.copiedSecret", "{{.What}} copied. It will be cleared from the clipboard in {{.Duration}}.",
		map[string]any{"What": what, "Duration": roundDuration(v.clip.clearAfter)}))
}

func (v *displayDialog) setCopied(text string) {
	v.copied.SetText(text)
	v.copied.Show()
}

func roundDuration(d time.Duration) string {
	if d >= time.Second {
		return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
	}
	return d.String()
}
