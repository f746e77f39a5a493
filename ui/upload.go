package ui

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/calmkey/calmkey/vault"
)

// advice is the product page's guidance on which key belongs here.
func advice() string {
	return lang.X("window.upload.advice", "Before you store it:\n"+
		"• Only one service key is kept for this SAP Cloud ALM tenant.\n"+
		"• Store the key you use regularly to connect managed services and systems (for example for monitoring or transport management); the same key can serve all of them.\n"+
		"• Don't store a \"one-use\" key made for a single managed service.\n"+
		"• Don't store keys for API calls, such as the SAP Cloud ALM Analytics API.")
}

// onUpload lets the user pick a key file.
func (w *window) onUpload() {
	if !w.mayUpload() {
		return
	}
	w.openKeyFile(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			w.dialogs.warn(lang.X("window.upload.openFailed.title", "The file could not be opened"),
				lang.X("window.upload.openFailed", "{{.Error}}. Choose the key file (.txt or .json) you downloaded from the SAP BTP cockpit.", map[string]any{"Error": err.Error()}))
			return
		}
		if r == nil {
			return // the user cancelled
		}
		w.readAndCheck(r.URI().Name(), func() (io.ReadCloser, error) { return r, nil })
	})
}

// onDropped takes a key file dropped on the window.
func (w *window) onDropped(_ fyne.Position, uris []fyne.URI) {
	if len(uris) == 0 || !w.mayUpload() {
		return
	}
	if len(uris) > 1 {
		w.dialogs.warn(lang.X("window.upload.dropOne.title", "Drop one file"),
			lang.X("window.upload.dropOne", "Several files were dropped. Drop only the service key file (.txt or .json) from the SAP BTP cockpit."))
		return
	}
	u := uris[0]
	w.readAndCheck(u.Name(), func() (io.ReadCloser, error) { return storage.Reader(u) })
}

// onPaste takes a key's JSON from the clipboard, as the BTP cockpit's Copy
// JSON leaves it.
func (w *window) onPaste() {
	if !w.mayUpload() {
		return
	}
	text := w.clip.content()
	if strings.TrimSpace(text) == "" {
		w.dialogs.warn(lang.X("window.upload.emptyClipboard.title", "The clipboard is empty"),
			lang.X("window.upload.emptyClipboard", "Nothing was stored. In the SAP BTP cockpit, open the key under Credentials and choose Copy JSON, then paste again."))
		return
	}
	w.clip.holdPaste(text)
	w.readAndCheck("", func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(text)), nil })
}

// mayUpload reports whether a key can be added now, and says why not when a
// drop or paste arrives at the wrong time.
func (w *window) mayUpload() bool {
	switch {
	case !w.busy.idle() || w.state == stLoading:
		w.dialogs.pleaseWait()
	case w.secs.corrupt():
		w.dialogs.warn(lang.X("window.upload.cannotStore.title", "The key cannot be stored now"),
			lang.X("window.upload.cannotStore.damaged", "The keychain holds a damaged entry that calmkey cannot read past. Delete it (the section says so), then upload the key."))
	case w.state == stFailed:
		w.dialogs.warn(lang.X("window.upload.cannotStore.title", "The key cannot be stored now"),
			lang.X("window.upload.cannotStore.failed", "The keychain is not working, so a key could not be stored. Fix the problem shown in the window, choose Try again, then upload the key."))
	default:
		return true
	}
	return false
}

// readWithin bounds reading an uploaded key file.
const readWithin = time.Minute

// readKey reads a key file and runs the format check; call it away from
// the UI goroutine (a file may sit on a slow network share). readErr is
// the file's, parseErr the format check's, err a panic caught on the way.
func readKey(open func() (io.ReadCloser, error)) (key *vault.Key, readErr, parseErr, err error) {
	err = safely("checking the key", func() error {
		// Under the size cap, as calmkeyctl reads it; a file that never
		// ends (a pipe, a stalled share) is given up after readWithin.
		ctx, cancel := context.WithTimeout(context.Background(), readWithin)
		defer cancel()
		data, err := vault.ReadKeyFile(ctx, open)
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			readErr = errors.New(lang.X("window.upload.slowFile", "it did not arrive whole within {{.Duration}}", map[string]any{"Duration": roundDuration(readWithin)}))
		case err != nil:
			readErr = err
		default:
			key, parseErr = vault.Parse(data)
		}
		return nil
	})
	return key, readErr, parseErr, err
}

// readAndCheck reads the key away from the UI goroutine (a file may sit on a
// slow network share) and runs the format check; it shows the problems or
// asks the user to confirm the key.
func (w *window) readAndCheck(name string, open func() (io.ReadCloser, error)) {
	go func() {
		key, readErr, parseErr, err := readKey(open)
		w.do(func() {
			if err == nil && readErr == nil && parseErr == nil && w.canAdd() && w.busy.idle() {
				if sec := w.secs.byTenant(key.Tenant); sec != nil && sec.stored != nil {
					// One key per tenant: offer to replace it (replace.go).
					w.clip.forgetPaste()
					w.offerReplaceOnUpload(sec, key, name)
					return
				}
				if sec := w.secs.byTenant(key.Tenant); sec != nil {
					// The product page's rule: one key per tenant.
					w.clip.forgetPaste()
					w.secs.openOnly(sec)
					w.dialogs.warn(alreadyHasKeyTitle(),
						lang.X("window.upload.hasKey", "Nothing was stored: tenant {{.Tenant}} already has a service key: delete it first. Only one service key is kept for a tenant; its section is open.",
							map[string]any{"Tenant": vault.Printable(key.Tenant)}))
					return
				}
				w.confirmUpload(key, name)
				return
			}
			w.clip.forgetPaste() // the upload ends here: unreadable, invalid or refused
			switch {
			case err != nil:
				w.dialogs.warn(lang.X("window.upload.notChecked.title", "The key was not checked"),
					lang.X("window.upload.notChecked", "{{.Error}}. Nothing was stored.", map[string]any{"Error": err.Error()}))
			case readErr != nil:
				w.dialogs.warn(lang.X("window.upload.readFailed.title", "The file could not be read"),
					lang.X("window.upload.readFailed", "Nothing was stored: {{.Error}}. Choose the key file (.txt or .json) you downloaded from the SAP BTP cockpit.", map[string]any{"Error": readErr.Error()}))
			case parseErr != nil:
				w.showProblems(name, parseErr)
			default:
				// Things changed while the file was read (another upload
				// finished, the keychain is being read): say why not now.
				w.mayUpload()
			}
		})
	}()
}

// problemsDialog lists why an upload is not a valid key.
type problemsDialog struct {
	list   *widget.Label
	dialog *dialog.CustomDialog
}

func (w *window) showProblems(name string, err error) {
	what := lang.X("window.problems.pasted", "The pasted text")
	if name != "" {
		what = name
	}
	var lines []string
	var fe *vault.FormatError
	switch {
	case errors.Is(err, vault.ErrTooLarge):
		lines = append(lines, tooLargeText())
	case errors.As(err, &fe):
		for _, p := range fe.Problems {
			lines = append(lines, "• "+findingLine(p))
		}
		if len(fe.Warnings) > 0 {
			lines = append(lines, lang.X("window.problems.alsoNoted", "Also noted:"))
			for _, w := range fe.Warnings {
				lines = append(lines, "• "+findingLine(w))
			}
		}
	default:
		lines = append(lines, err.Error())
	}
	v := &problemsDialog{list: wrapped(strings.Join(lines, "\n"))}
	body := container.NewVBox(
		wrapped(lang.X("window.problems.intro", "{{.What}} is not a valid SAP Cloud ALM service key. Nothing was stored. The format check found:", map[string]any{"What": what})),
		v.list,
		wrapped(lang.X("window.problems.advice", "Download the key again in the {{.Cockpit}} > Download, and upload that file.", map[string]any{"Cockpit": cockpitPath()})),
	)
	v.dialog = dialog.NewCustom(lang.X("window.problems.title", "This is not a valid service key"), lang.X("window.button.ok", "OK"), container.NewVScroll(body), w.win)
	v.dialog.SetIcon(theme.ErrorIcon())
	w.dialogs.problems = v
	v.dialog.Show()
	v.dialog.Resize(fyne.NewSize(560, 400))
}

// uploadDialog shows a valid key for the user to confirm before it is
// stored, with the product page's advice. It closes when another program
// stores a key meanwhile.
type uploadDialog struct {
	key      *vault.Key
	fileName string
	facts    *factsForm
	warnings *widget.Label
	advice   *widget.Label
	dialog   *dialog.ConfirmDialog
	open     bool
}

// uploadFacts are the facts the upload dialog shows: all but the upload
// time, which the key does not have yet. The token URL among them is where
// the key will log on.
var uploadFacts = []string{vault.FactTenant, vault.FactRegion, vault.FactClientID, vault.FactCredentialType, vault.FactAPIEndpoint, vault.FactTokenURL, vault.FactCertExpiry}

func (w *window) confirmUpload(key *vault.Key, name string) {
	v := &uploadDialog{
		key:      key,
		fileName: name,
		facts:    newFactsForm(uploadFacts...),
		warnings: &widget.Label{Wrapping: fyne.TextWrapWord, Importance: widget.WarningImportance},
		advice:   wrapped(advice()),
	}
	v.facts.set((&vault.Stored{Key: key}).Summary(), w.seam.now())
	var warns []string
	for _, f := range key.Warnings {
		warns = append(warns, "• "+findingLine(f))
	}
	if len(warns) > 0 {
		v.warnings.SetText(lang.X("window.upload.warnings", "Warnings:") + "\n" + strings.Join(warns, "\n"))
	} else {
		v.warnings.Hide()
	}
	intro := lang.X("window.upload.valid", "This is a valid service key. Check that it is the one you mean to store.")
	if name != "" {
		intro = lang.X("window.upload.validFile", "{{.File}} holds a valid service key. Check that it is the one you mean to store.", map[string]any{"File": name})
	}
	// The advice comes before the facts, so it is read without scrolling.
	body := container.NewVBox(wrapped(intro), v.advice, widget.NewSeparator(), v.facts.form, v.warnings)
	v.dialog = dialog.NewCustomConfirm(lang.X("window.upload.title", "Store this service key?"), lang.X("window.upload.store", "Store in keychain"), lang.X("window.button.cancel", "Cancel"), container.NewVScroll(body), func(ok bool) {
		if ok {
			w.saveKey(key, name)
		} else {
			w.clip.forgetPaste() // cancelled
		}
	}, w.win)
	tracked(v.dialog, &v.open)
	w.dialogs.upload = v
	v.dialog.Show()
	v.dialog.Resize(fyne.NewSize(620, 520))
}

// saveKey stores the confirmed key, then reads the keys back by the one
// path of every read, so the window shows what the keychain holds, with the
// new tenant's section open, and says what another program changed
// meanwhile. Whatever the outcome, a pasted key then leaves the clipboard.
func (w *window) saveKey(key *vault.Key, name string) {
	if !w.canAdd() || !w.busy.idle() {
		w.clip.forgetPaste()
		w.mayUpload()
		return
	}
	save := &ownWrite{tenant: key.Tenant, run: func(ctx context.Context) error { return w.store.Save(ctx, key, name) }}
	w.read(lang.X("window.line.storing", "Storing the service key of {{.Tenant}} in the keychain…", map[string]any{"Tenant": vault.Printable(key.Tenant)}), save, func(_ changes, err error) {
		w.clip.forgetPaste()
		switch {
		case err == nil:
			// Stored; a failed read after it shows as any failed read,
			// with its Try again.
			if sec := w.secs.byTenant(key.Tenant); sec != nil {
				w.secs.openOnly(sec)
			}
		case errors.Is(err, vault.ErrAlreadyStored):
			// vault's text names the tenant: "tenant X already has a
			// service key: delete it first".
			w.dialogs.warn(alreadyHasKeyTitle(), lang.X("window.upload.storedMeanwhile", "Nothing was stored: {{.Error}}. Only one service key is kept for a tenant; {{.Another}} may have stored it meanwhile.",
				map[string]any{"Error": errText(err), "Another": byAnother()}))
			w.read(readingText(), nil, nil)
		case errors.Is(err, vault.ErrBusy):
			w.dialogs.offerRetry(notStoredTitle(), notStoredText(err), func() { w.saveKey(key, name) })
		case errors.Is(err, vault.ErrTimeout):
			// vault's text says whether anything may be left.
			w.dialogs.warn(noAnswerTitle(), lang.X("window.upload.timeout", "Storing the service key did not finish: {{.Error}}.", map[string]any{"Error": errText(err)}))
			w.read("", nil, nil)
		default:
			w.dialogs.warn(notStoredTitle(), notStoredText(err))
		}
	})
}
