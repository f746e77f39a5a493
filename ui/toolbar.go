package ui

import (
	"runtime"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// waitingText and readingText are the message line's while the keychain
// is slow to answer and while it is read.
func waitingText() string {
	return lang.X("window.line.waiting", "Waiting for the keychain (unlock it if your system asks)…")
}

func readingText() string {
	return lang.X("window.line.reading", "Reading the service keys from the keychain…")
}

// toolbar is the row above the sections: the heading and the window's own
// actions (add a key, paste one, test all, the proxy the tests take).
type toolbar struct {
	heading                       *widget.Label
	upload, paste, testAll, proxy *widget.Button
	box                           fyne.CanvasObject
}

func newToolbar(onUpload, onPaste, onTestAll, onProxy func()) *toolbar {
	b := &toolbar{
		heading: &widget.Label{Text: lang.X("window.heading", "SAP Cloud ALM Service Keys"), TextStyle: fyne.TextStyle{Bold: true}},
		upload:  &widget.Button{Text: lang.X("window.button.add", "Add a tenant's key"), Icon: theme.ContentAddIcon(), Importance: widget.HighImportance, OnTapped: onUpload},
		paste:   &widget.Button{Text: lang.X("window.button.paste", "Paste"), Icon: theme.ContentPasteIcon(), OnTapped: onPaste},
		testAll: &widget.Button{Text: lang.X("window.button.testAll", "Test all"), Icon: theme.LoginIcon(), OnTapped: onTestAll},
		proxy:   &widget.Button{Text: lang.X("window.button.proxy", "Proxy…"), Icon: theme.SettingsIcon(), Importance: widget.LowImportance, OnTapped: onProxy},
	}
	b.box = container.NewBorder(nil, nil, b.heading, container.NewHBox(b.upload, b.paste, b.testAll, b.proxy))
	return b
}

// render offers the actions the keychain's state allows: nothing while
// loading (the actions depend on the answer), adding while a key can be
// added, Test all while keys are stored and none is being tested.
func (b *toolbar) render(loading, idle, canAdd, canTestAll, testing bool) {
	show(b.upload, !loading)
	show(b.paste, !loading)
	show(b.testAll, canTestAll)
	enable(b.upload, idle && canAdd)
	enable(b.paste, idle && canAdd)
	enable(b.testAll, idle && canTestAll && !testing)
}

// messageLine says what the window is doing or what is wrong, with Try
// again when the keychain could not be read; with no key stored, it says
// where keys come from.
type messageLine struct {
	message  *widget.Label
	retry    *widget.Button
	dropHint *widget.Label
	// news is what another program changed, until the next call of the
	// window's own.
	news string
	box  fyne.CanvasObject
}

func newMessageLine(onRetry func()) *messageLine {
	l := &messageLine{
		message: &widget.Label{Wrapping: fyne.TextWrapWord},
		retry:   &widget.Button{Text: lang.X("window.button.retry", "Try again"), Icon: theme.ViewRefreshIcon(), OnTapped: onRetry},
		dropHint: &widget.Label{
			Text: lang.X("window.line.noKey", "No service key is stored yet. Upload the key file you downloaded from the {{.Cockpit}} > Download, drop it on this window, or copy its JSON and paste it. Each tenant keeps one key.",
				map[string]any{"Cockpit": cockpitPath()}),
			Wrapping: fyne.TextWrapWord,
		},
	}
	l.box = container.NewVBox(container.NewBorder(nil, nil, nil, l.retry, l.message), l.dropHint)
	return l
}

func (l *messageLine) set(text string, imp widget.Importance) {
	l.message.Importance = imp
	l.message.SetText(text)
	show(l.message, text != "")
}

// footer is the line below the sections: the keyboard shortcuts and the
// version.
type footer struct {
	line          *widget.Separator
	help, version *widget.Label
	language      *languageChoice
	box           fyne.CanvasObject
}

func newFooter(version string, prefs fyne.Preferences) *footer {
	f := &footer{
		line: widget.NewSeparator(),
		help: &widget.Label{Text: shortcutHelp(), SizeName: theme.SizeNameCaptionText, Truncation: fyne.TextTruncateEllipsis},
		// The version on a line of its own: a release's ("0.1.0 (commit
		// 946432429a16)") would cut the keys' line short beside it.
		version:  &widget.Label{SizeName: theme.SizeNameCaptionText},
		language: newLanguageChoice(prefs),
	}
	if version != "" {
		f.version.Text = lang.X("window.footer.version", "calmkey {{.Version}}", map[string]any{"Version": version})
	}
	f.box = container.NewVBox(f.line, f.help, container.NewBorder(nil, nil, f.version, nil, f.language.box))
	return f
}

// render shows the footer once the keychain answered: the first frame is
// drawn before the window shows, and while loading it holds only what is
// needed, so the window appears sooner.
func (f *footer) render(loading bool) {
	show(f.line, !loading)
	show(f.help, !loading)
	show(f.version, !loading && f.version.Text != "")
	show(f.language.box, !loading)
}

func shortcutHelp() string {
	mod := lang.X("window.footer.ctrl", "Ctrl+")
	if runtime.GOOS == "darwin" {
		mod = "⌘"
	}
	// Two short lines rather than a wrapping label: wrapping is measured
	// word by word, which shows in the start-up time.
	return lang.X("window.footer.shortcuts", "Keys for the open tenant: {{.Mod}}D display · {{.Mod}}S download · {{.Mod}}Delete delete · {{.Mod}}T test · {{.Mod}}Shift+T test all · {{.Mod}}O add a key · {{.Mod}}V paste",
		map[string]any{"Mod": mod})
}

func show(o fyne.CanvasObject, visible bool) {
	if visible {
		o.Show()
	} else {
		o.Hide()
	}
}

func enable(w fyne.Disableable, on bool) {
	if on {
		w.Enable()
	} else {
		w.Disable()
	}
}
