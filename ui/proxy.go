package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/calmkey/calmkey/internal/netroute"
)

// proxyPref is the app preference that holds the proxy the logon test
// takes: "" follows netroute's order (the environment, then the system's
// settings), "direct" goes direct, or a proxy URL, as calmkeyctl test
// --proxy takes it.
const proxyPref = "proxy"

// The dialog's choices.
func proxySystem() string {
	return lang.X("window.proxy.system", "System: HTTPS_PROXY if set, else this computer's proxy settings")
}

func proxyDirect() string { return lang.X("window.proxy.direct", "Direct: no proxy") }

func proxyURL() string { return lang.X("window.proxy.url", "This proxy:") }

// errProxyPassword refuses a proxy URL with a password. Fyne keeps its
// preferences in a plain file, and no secret may sit in a file but the
// downloaded key; keeping it in the keychain instead would need a second
// kind of keychain entry for one rare case, when HTTPS_PROXY and the
// system's settings (with Negotiate, which needs no password) already
// cover it.
var errProxyPassword error = proxyPasswordError{}

// proxyPasswordError words errProxyPassword in the window's language.
type proxyPasswordError struct{}

func (proxyPasswordError) Error() string {
	return lang.X("window.proxy.password", "calmkey keeps this setting in a plain file, where a password must not be kept. Leave the password out if the proxy needs none or takes your Windows logon; otherwise set HTTPS_PROXY=http://user:password@host:port before starting calmkey, or choose System to use this computer's proxy settings")
}

// checkProxy checks a proxy setting and gives it in the form it is kept:
// "", "direct" or the proxy's URL. Its errors never repeat the value.
func checkProxy(v string) (string, error) {
	v = strings.TrimSpace(v)
	switch v {
	case "", "system", "auto":
		return "", nil
	case "direct":
		return v, nil
	}
	u, err := netroute.ParseOverride(v)
	if err != nil {
		return "", err
	}
	if _, has := u.User.Password(); has {
		return "", errProxyPassword
	}
	return u.String(), nil
}

// savedProxy is the proxy kept in prefs, and why it is not used when it
// cannot be (a file edited by hand): then the test follows netroute's order.
func savedProxy(prefs fyne.Preferences) (string, error) {
	v, err := checkProxy(prefs.String(proxyPref))
	if err != nil {
		return "", err
	}
	return v, nil
}

// proxyDialog is the Proxy… dialog: System, Direct or a proxy's URL.
type proxyDialog struct {
	choice  *widget.RadioGroup
	entry   *widget.Entry
	problem *widget.Label
	save    *widget.Button
	dialog  *dialog.CustomDialog
	onSave  func(v string) // the setting as checkProxy keeps it
}

// newProxyDialog shows the setting now kept, v, or why the kept one is
// not used (bad); a password is never shown, only user:***@host.
func newProxyDialog(parent fyne.Window, v string, bad error, onSave func(string)) *proxyDialog {
	d := &proxyDialog{
		entry:   &widget.Entry{PlaceHolder: "http://proxy.example:8080"},
		problem: &widget.Label{Wrapping: fyne.TextWrapWord, Importance: widget.DangerImportance},
		onSave:  onSave,
	}
	d.choice = widget.NewRadioGroup([]string{proxySystem(), proxyDirect(), proxyURL()}, nil)
	d.choice.Required = true
	switch {
	case v == "":
		d.choice.SetSelected(proxySystem())
	case v == "direct":
		d.choice.SetSelected(proxyDirect())
	default:
		d.choice.SetSelected(proxyURL())
		d.entry.SetText(masked(v))
	}
	d.entry.OnChanged = func(s string) {
		if s != "" {
			d.choice.SetSelected(proxyURL())
		}
	}
	d.entry.OnSubmitted = func(string) { d.onSaveTapped() }
	d.problem.Hide()
	if bad != nil {
		d.setProblem(lang.X("window.proxy.badSaved", "The proxy kept in calmkey's settings is not used: {{.Error}}.", map[string]any{"Error": proxyErrText(bad)}))
	}
	intro := wrapped(lang.X("window.proxy.intro", "The route the logon test takes. Direct or a proxy given here overrides HTTPS_PROXY and the system's settings, as calmkeyctl test --proxy does. A proxy that asks for Negotiate gets your Windows logon."))
	d.save = &widget.Button{Text: lang.X("window.button.save", "Save"), Icon: theme.ConfirmIcon(), Importance: widget.HighImportance, OnTapped: d.onSaveTapped}
	content := container.NewVBox(intro, d.choice, d.entry, d.problem)
	d.dialog = dialog.NewCustomWithoutButtons(lang.X("window.proxy.title", "Proxy for the logon test"), content, parent)
	cancel := &widget.Button{Text: lang.X("window.button.cancel", "Cancel"), Icon: theme.CancelIcon(), OnTapped: d.dialog.Hide}
	d.dialog.SetButtons([]fyne.CanvasObject{cancel, d.save})
	return d
}

func (d *proxyDialog) setProblem(text string) {
	d.problem.SetText(text)
	d.problem.Show()
}

// onSaveTapped keeps the choice, or says why it cannot and leaves the
// dialog open. A refused URL is shown masked from then on: a password
// typed into it does not stay on screen.
func (d *proxyDialog) onSaveTapped() {
	v := ""
	switch d.choice.Selected {
	case proxyDirect():
		v = "direct"
	case proxyURL():
		v = strings.TrimSpace(d.entry.Text)
		if v == "" {
			d.setProblem(lang.X("window.proxy.noAddress", "Type the proxy's address, such as http://proxy.example:8080, or choose System or Direct."))
			return
		}
	}
	kept, err := checkProxy(v)
	if err != nil {
		d.entry.SetText(masked(v))
		d.setProblem(lang.X("window.proxy.notSaved", "The proxy was not saved: {{.Error}}.", map[string]any{"Error": proxyErrText(err)}))
		return
	}
	d.onSave(kept)
	d.dialog.Hide()
}

// onProxy opens the Proxy… dialog. A saved choice applies from the next
// test on; a test already running keeps its route.
func (w *window) onProxy() {
	if w.dialogs.anyOpen() {
		return
	}
	prefs := w.app.Preferences()
	v, bad := savedProxy(prefs)
	d := newProxyDialog(w.win, v, bad, func(kept string) {
		prefs.SetString(proxyPref, kept)
		w.tests.opts.Proxy = kept
	})
	w.dialogs.proxy = d
	d.dialog.Show()
	d.dialog.Resize(fyne.NewSize(520, d.dialog.MinSize().Height))
}

// applyProxyPref makes the tests take the proxy kept in the app's
// preferences, when one is kept.
func (w *window) applyProxyPref() {
	if v, err := savedProxy(w.app.Preferences()); err == nil && v != "" {
		w.tests.opts.Proxy = v
	}
}

// masked is a typed proxy setting as it may stay on screen: with its
// password, if it has one, as ***; a value with user information that
// cannot be read as a URL is cleared, since it may hold a password.
func masked(v string) string {
	if !strings.Contains(v, "@") {
		return v
	}
	if _, err := netroute.ParseOverride(v); err != nil {
		return ""
	}
	return netroute.MaskURL(v)
}
